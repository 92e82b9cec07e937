# frozen_string_literal: true

# The service bench/downtime.rb restarts: a JRuby service on 127.0.0.1:DEMO_PORT
# answering one line per connection. DOWNTIME_LISTEN=handover takes its listener
# from JRestart.listen (handed to the next JVM across an exec in place), rebind
# from TCPServer.new (closed by the exec, bound again by the next JVM).
# DOWNTIME_RESTART=in_place restarts with reexec!, command with restart! (the
# init script's restart, from JRESTART_COMMAND).
require "socket"
require "securerandom"
require "jrestart"

port = Integer(ENV.fetch("DEMO_PORT"))
server = if ENV.fetch("DOWNTIME_LISTEN") == "handover"
           JRestart.listen("127.0.0.1", port)
         else
           TCPServer.new("127.0.0.1", port)
         end
# The JVM's own start, not this generation's first line: an exec in place starts a new JVM.
boot_ms = (Time.now.to_f * 1000).round - java.lang.management.ManagementFactory.getRuntimeMXBean.getStartTime
token = SecureRandom.hex(6)
in_place = ENV.fetch("DOWNTIME_RESTART") == "in_place"

loop do
  client = server.accept
  Thread.new(client) do |socket|
    case socket.gets&.chomp
    when "pid" then socket.puts(Process.pid)
    when "ping" then socket.puts("#{Process.pid} #{token} #{boot_ms}")
    when "restart"
      socket.puts("restarting")
      socket.close
      in_place ? JRestart.reexec! : JRestart.restart!
    end
  rescue IOError, SystemCallError
    nil
  ensure
    socket.close unless socket.closed?
  end
end
