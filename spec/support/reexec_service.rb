# frozen_string_literal: true

# A JRuby service for the reexec! specs, on 127.0.0.1:$DEMO_PORT. One line per
# connection:
#   info                 -> "PID GENERATION FDS": FDS counted once, at start-up
#   reexec               -> "reexecing", then JRestart.reexec! with GENERATION + 1
#   reexec-missing PATH  -> reexec! of PATH, which must fail: the error it raised
#   launch-sleep         -> the pid of a `sleep 1` launched and never waited for
#   handed               -> ENV["JRESTART_CHILDREN"], or "none"
require "socket"
require "jrestart"

generation = Integer(ENV.fetch("JRESTART_SPEC_GENERATION", "0"))
server = TCPServer.new("127.0.0.1", Integer(ENV.fetch("DEMO_PORT")))
# The JVM itself opens and closes files under /sys and /proc now and then.
fds = Dir.children("/proc/self/fd").count do |fd|
  !File.readlink("/proc/self/fd/#{fd}").start_with?("/sys/", "/proc/")
rescue SystemCallError
  false
end

loop do
  client = server.accept
  case client.gets.to_s.strip
  when "info"
    client.puts "#{Process.pid} #{generation} #{fds}"
  when "reexec"
    client.puts "reexecing"
    client.close
    JRestart.reexec!(env: { "JRESTART_SPEC_GENERATION" => (generation + 1).to_s })
  when "launch-sleep"
    client.puts JRestart.launch("/bin/sleep", "1").pid
  when "handed"
    client.puts ENV.fetch("JRESTART_CHILDREN", "none")
  when /\Areexec-missing (\S+)\z/
    begin
      JRestart.reexec!([Regexp.last_match(1), "--version"])
      client.puts "exec returned"
    rescue SystemCallError => e
      client.puts "#{e.class}: #{e.message}"
    end
  end
rescue StandardError => e
  client&.puts("error #{e.class}: #{e.message}")
ensure
  client&.close unless client&.closed?
end
