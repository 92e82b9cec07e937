# frozen_string_literal: true

# A JRuby service for the reexec! specs, on 127.0.0.1:$DEMO_PORT. One line per
# connection:
#   info                 -> "PID GENERATION FDS": FDS counted once, at start-up
#   reexec               -> "reexecing", then JRestart.reexec! with GENERATION + 1
#   reexec-missing PATH  -> reexec! of PATH, which must fail: the error it raised
#   reexec-or-error      -> reexec! as "reexec" does, answering only if it fails: the error it raised
#   argv                 -> ARGV as JSON
#   restart              -> "restarting" or the error restart! raised: JRestart.restart!(delay: 0.5)
#                           with no command, GENERATION + 1 in ENV (in place, it comes back with it)
#   plan                 -> JRestart.plan.to_s, then a line "."
#   launch-sleep         -> the pid of a `sleep 1` launched and never waited for
#   handed               -> ENV["JRESTART_CHILDREN"], or "none"
#   record               -> JRestart.last_restart's previous_pid and mechanism, or "none"
#   setenv NAME VALUE    -> ENV[NAME] = VALUE, "ok"
require "json"
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
  when "reexec-or-error"
    begin
      JRestart.reexec!(env: { "JRESTART_SPEC_GENERATION" => (generation + 1).to_s })
    rescue SystemCallError => e
      client.puts "#{e.class}: #{e.message}"
    end
  when "argv"
    client.puts JSON.generate(ARGV)
  when "restart"
    begin
      ENV["JRESTART_SPEC_GENERATION"] = (generation + 1).to_s
      JRestart.restart!(delay: 0.5)
      client.puts "restarting"
    rescue StandardError => e
      ENV["JRESTART_SPEC_GENERATION"] = generation.to_s
      client.puts "#{e.class}: #{e.message}"
    end
  when "plan"
    begin
      client.puts JRestart.plan.to_s
    rescue StandardError => e
      client.puts "#{e.class}: #{e.message}"
    end
    client.puts "."
  when "launch-sleep"
    client.puts JRestart.launch("/bin/sleep", "1").pid
  when "record"
    record = JRestart.last_restart
    client.puts record ? "#{record.previous_pid} #{record.mechanism}" : "none"
  when /\Asetenv (\S+) (\S+)\z/
    ENV[Regexp.last_match(1)] = Regexp.last_match(2)
    client.puts "ok"
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
