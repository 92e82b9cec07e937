# frozen_string_literal: true

# A JRuby service for the orderly stop specs, on 127.0.0.1:$DEMO_PORT. At
# start-up (generation G = $JRESTART_SPEC_GENERATION, else the boot.* files there) it writes
# $DEMO_RUN_DIR/boot.G, and arranges for its stop to leave, in $DEMO_RUN_DIR:
#   at_exit.G     an at_exit handler
#   ruby_hook.G   a JVM shutdown hook written as a Ruby block
#   java_hook.G   a JVM shutdown hook in plain Java (OrderlyHook, classes in $ORDERLY_HOOK_CLASSES)
#   buffered.G    100 bytes written with sync = false at start-up, never flushed by the service
# Each holds the pid that wrote it. Options through the environment:
#   ORDERLY_SLOW_HOOK=MS   a Java hook "slow hook" sleeps MS ms, then writes slow_hook.G
#   ORDERLY_BAD_HOOKS=1    a Java hook that throws, one that calls System.exit(3), a Ruby hook
#                          that raises, and an at_exit handler (run last) that calls exit!
#   ORDERLY_DRAIN=1        what the README tells a service to do for a restart that loses nothing:
#                          the listener from JRestart.listen (handed on in place), and an on_restart
#                          hook that stops accepting and waits until no request is in flight
# One line per connection, each on a thread of its own:
#   info                  -> "PID GENERATION STARTED": STARTED is when this JVM (image) started, in ms since the epoch
#   reexec [TIMEOUT]      -> "reexecing", then JRestart.reexec! (stop_timeout: TIMEOUT when given)
#   reexec-path PATH      -> JRestart.reexec!([PATH]), which must be refused: the error it raised
#   restart [TIMEOUT]     -> "restarting" or the error, JRestart.restart! (delay: 0.5), then the stop comes
#   record                -> JRestart.last_restart as JSON, or "null"
#   stop-timeout          -> JRestart.plan(delay: 0.5).stop_timeout, as restart would have it
#   slow                  -> "working GENERATION" at once, "done GENERATION" 2 s later: a request in flight
require "json"
require "socket"
require "jrestart"

dir = ENV.fetch("DEMO_RUN_DIR")
# A manager that starts the service from its own environment (a systemd unit) passes no generation on:
# then the boots so far count.
generation = Integer(ENV.fetch("JRESTART_SPEC_GENERATION") { Dir.glob(File.join(dir, "boot.*")).size.to_s })
$CLASSPATH << "#{ENV.fetch("ORDERLY_HOOK_CLASSES")}/"
hook = Java::Default::OrderlyHook
mark = ->(name) { File.join(dir, "#{name}.#{generation}") }

if ENV["ORDERLY_BAD_HOOKS"]
  # Registered first, so it runs last: at_exit handlers run in reverse order.
  at_exit do
    File.write(mark["exit_bang"], Process.pid.to_s)
    exit!(7)
  end
  hook.throwing(mark["throwing_hook"], Process.pid.to_s)
  hook.exiting(mark["exiting_hook"], Process.pid.to_s)
  java.lang.Runtime.runtime.add_shutdown_hook(java.lang.Thread.new { raise "a Ruby hook that raises" })
end
at_exit { File.write(mark["at_exit"], Process.pid.to_s) }
java.lang.Runtime.runtime.add_shutdown_hook(java.lang.Thread.new { File.write(mark["ruby_hook"], Process.pid.to_s) })
hook.marker(mark["java_hook"], Process.pid.to_s)
hook.slow("slow hook", Integer(ENV["ORDERLY_SLOW_HOOK"]), mark["slow_hook"], Process.pid.to_s) if ENV["ORDERLY_SLOW_HOOK"]

$buffered = File.open(mark["buffered"], "w")
$buffered.sync = false
$buffered.write("x" * 100)

port = Integer(ENV.fetch("DEMO_PORT"))
in_flight = 0
lock = Mutex.new
idle = ConditionVariable.new
if ENV["ORDERLY_DRAIN"]
  server = JRestart.listen("127.0.0.1", port)
  JRestart.on_restart do |restart|
    server.close
    lock.synchronize { idle.wait(lock, restart.remaining) while in_flight.positive? && restart.remaining.positive? }
  end
else
  server = TCPServer.new("127.0.0.1", port)
end
File.write(mark["boot"], Process.pid.to_s)
next_generation = { "JRESTART_SPEC_GENERATION" => (generation + 1).to_s }

loop do
  client = begin
    server.accept
  rescue IOError
    sleep # closed by the drain hook: the restart replaces or ends this JVM
  end
  Thread.new(client) do |socket|
    line = socket.gets.to_s.split
    # The requests that restart are not ones the drain hook waits for: they wait for it.
    counted = !%w[reexec reexec-path restart].include?(line[0])
    lock.synchronize { in_flight += 1 } if counted
    begin
      options = line[1] && line[0] != "reexec-path" ? { stop_timeout: Float(line[1]) } : {}
      case line[0]
      when "info"
        socket.puts "#{Process.pid} #{generation} #{java.lang.management.ManagementFactory.runtime_mx_bean.start_time}"
      when "slow"
        socket.puts "working #{generation}"
        sleep 2
        socket.puts "done #{generation}"
      when "reexec"
        socket.puts "reexecing"
        socket.close
        JRestart.reexec!(env: next_generation, **options)
      when "reexec-path"
        begin
          JRestart.reexec!([line[1]])
          socket.puts "exec returned"
        rescue StandardError => e
          socket.puts "#{e.class}: #{e.message}"
        end
      when "restart"
        begin
          ENV.update(next_generation)
          JRestart.restart!(delay: 0.5, **options)
          socket.puts "restarting"
        rescue StandardError => e
          socket.puts "error #{e.class}: #{e.message}"
        end
      when "stop-timeout"
        socket.puts JRestart.plan(delay: 0.5).stop_timeout
      when "record"
        record = JRestart.last_restart
        socket.puts JSON.generate(record&.to_h&.merge(requested_at: record.requested_at.to_f))
      end
    rescue StandardError => e
      socket.puts("error #{e.class}: #{e.message}") unless socket.closed?
    ensure
      socket.close unless socket.closed?
      lock.synchronize { in_flight -= 1; idle.broadcast } if counted
    end
  end
end
