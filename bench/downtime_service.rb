# frozen_string_literal: true

# The service bench/downtime.rb restarts: a JRuby service on 127.0.0.1:DEMO_PORT
# answering one line per connection. DOWNTIME_LISTEN=handover takes its listener
# from JRestart.listen (handed to the next JVM across an exec in place), rebind
# from TCPServer.new (closed by the exec, bound again by the next JVM).
# DOWNTIME_RESTART=in_place restarts with reexec!, command with restart! (the
# init script's restart, from JRESTART_COMMAND), overlap with restart!(overlap:
# true): the new JVM beside this one, which stops accepting (its restart hook)
# once the new one has said JRestart.ready!.
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
how = ENV.fetch("DOWNTIME_RESTART")
if how == "overlap"
  JRestart.on_restart { server.close }
  JRestart.ready!
end

loop do
  client = begin
    server.accept
  rescue IOError
    break # the overlap's restart hook closed it: the new JVM serves, this one stops
  end
  Thread.new(client) do |socket|
    case socket.gets&.chomp
    when "pid" then socket.puts(Process.pid)
    when "ping" then socket.puts("#{Process.pid} #{token} #{boot_ms}")
    when "restart"
      socket.puts("restarting")
      socket.close
      case how
      when "in_place" then JRestart.reexec!
      when "overlap" then JRestart.restart!(overlap: true)
      else JRestart.restart!
      end
    end
  rescue IOError, SystemCallError
    nil
  ensure
    socket.close unless socket.closed?
  end
end
sleep
