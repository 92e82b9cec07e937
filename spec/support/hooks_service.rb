# frozen_string_literal: true

# A JRuby service with a restart hook that drains, for
# spec/integration/restart_hooks_spec.rb, on 127.0.0.1:$DEMO_PORT, files in
# $DEMO_RUN_DIR. One line per connection, each on a thread of its own:
#   pid      -> Process.pid
#   info     -> JSON: pid and jvm (a token new in every JVM)
#   slow     -> "working JVM" at once, then "done JVM" 2 s later: the request in flight
#   restart  -> JRestart.restart!(delay: 1, reason: "spec") with no command: "restarting PID",
#               "restarting in-place", or "error CLASS: MESSAGE"
#   reexec   -> JRestart.reexec!: no answer when it execs, else "error CLASS: MESSAGE"
# The hook (unless $HOOKS_OFF is set) appends "JVM MECHANISM REASON" to
# $DEMO_RUN_DIR/hooks, raises when $DEMO_RUN_DIR/veto exists, else stops
# accepting and waits until no request is in flight, then returns.
require "json"
require "securerandom"
require "socket"
require "jrestart"

run_dir = ENV.fetch("DEMO_RUN_DIR")
jvm = SecureRandom.hex(8)
server = TCPServer.new("127.0.0.1", Integer(ENV.fetch("DEMO_PORT")))
in_flight = 0
lock = Mutex.new
drained = ConditionVariable.new

unless ENV["HOOKS_OFF"]
  JRestart.on_restart do |restart|
    File.open(File.join(run_dir, "hooks"), "a") { |f| f.puts "#{jvm} #{restart.mechanism} #{restart.reason}" }
    raise IOError, "the spec asked for a veto" if File.exist?(File.join(run_dir, "veto"))

    server.close
    lock.synchronize { drained.wait(lock, restart.remaining) while in_flight.positive? && restart.remaining.positive? }
  end
end

$stdout.sync = true
puts "hooks-service #{Process.pid} jvm=#{jvm}"

loop do
  begin
    client = server.accept
  rescue IOError
    sleep # the hook closed the listener: this JVM only finishes what it has until the restart
  end
  Thread.new(client) do |socket|
    line = socket.gets.to_s.strip
    # The request asking for the restart waits for the hooks: it is not one they wait for.
    lock.synchronize { in_flight += 1 } unless %w[restart reexec].include?(line)
    begin
      case line
      when "info"
        socket.puts JSON.generate(pid: Process.pid, jvm: jvm)
      when "slow"
        socket.puts "working #{jvm}"
        sleep 2
        socket.puts "done #{jvm}"
      when "restart"
        launch = JRestart.restart!(delay: 1, reason: "spec")
        socket.puts launch ? "restarting #{launch.pid}" : "restarting in-place"
      when "reexec"
        JRestart.reexec!
      else
        socket.puts Process.pid
      end
    rescue StandardError => e
      socket.puts "error #{e.class}: #{e.message}"
    ensure
      socket.close
      unless %w[restart reexec].include?(line)
        lock.synchronize do
          in_flight -= 1
          drained.broadcast
        end
      end
    end
  end
end
