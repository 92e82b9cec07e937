# frozen_string_literal: true

# A JRuby service for the systemd and container specs, on 127.0.0.1:$DEMO_PORT,
# restart log in $DEMO_RUN_DIR. One line per connection:
#   pid      -> Process.pid (the pid in this process's own pid namespace)
#   info     -> JSON: pid, ppid, uid, jvm (a token new in every JVM), the
#               JVM's start time and RLIMIT_NOFILE
#   plan     -> JSON: what JRestart.plan says restart! with no command would
#               run (command, source, manager, strategy), or the error it raises
#   restart [REASON] -> JRestart.restart!(log:, delay: 1, reason: REASON) with no command, answered as
#               examples/demo_service.rb answers it ("restarting PID via=HOW
#               inherited=none", or inherited=exited when the command was
#               already gone), "restarting in-place via=HOW" when this JVM
#               execs itself after the delay, or "error CLASS: MESSAGE"
#   restart-now -> JRestart.restart!(log:) without a delay: "restarting PID", or the error
#   restart-in SECONDS -> JRestart.restart!(log:, delay: SECONDS), answered as restart is
#   restart-bare -> JRestart.restart! with no options at all (no delay, no log): as restart-now
#   restart-now-outcome -> as restart-now, but the outcome also goes to $DEMO_RUN_DIR/outcome
#               ("restarting PID returned=SECONDS" or "error CLASS: MESSAGE"), since the manager may stop
#               this JVM before any answer gets out; a shutdown hook holds the stop until it is written
#               (up to 10 s) and writes $DEMO_RUN_DIR/stopped ("stopped=SECONDS" after the call)
#   launch-sleep SECONDS -> JRestart.launch("sleep", SECONDS): its pid
#   launch-env-command -> JRestart.launch of $JRESTART_COMMAND, a plain detached
#               start of it (new session, this process's cgroup): its pid
#   record   -> JRestart.last_restart as JSON (null when no restart started
#               this JVM), requested_at in ISO 8601
#   exit     -> exits (status 0) once the answer is sent
require "json"
require "securerandom"
require "shellwords"
require "socket"
require "time"
require "jrestart"

port = Integer(ENV.fetch("DEMO_PORT"))
restart_log = File.join(ENV.fetch("DEMO_RUN_DIR"), "restart.log")
jvm = SecureRandom.hex(8)
started = java.lang.management.ManagementFactory.runtime_mx_bean.start_time

def inherited_from_me(pid)
  mine = Dir.children("/proc/self/fd").filter_map do |fd|
    File.readlink("/proc/self/fd/#{fd}") if fd.to_i > 2
  rescue Errno::ENOENT
    nil
  end
  Dir.children("/proc/#{pid}/fd").select { |fd| fd.to_i > 2 }.filter_map do |fd|
    target = File.readlink("/proc/#{pid}/fd/#{fd}")
    "#{fd}:#{target}" if mine.include?(target)
  rescue Errno::ENOENT
    nil
  end
end

def plan_summary(restart_log)
  plan = JRestart.plan(log: restart_log, delay: 1)
  manager = plan.manager
  { command: plan.command, source: plan.source, manager: manager&.name, service: manager&.service,
    strategy: plan.strategy }
rescue StandardError => e
  { error: "#{e.class}: #{e.message}" }
end

server = TCPServer.new("127.0.0.1", port)
# A Type=notify unit waits for this, after the first start and after every restart in place.
JRestart.notify("READY=1")
$stdout.sync = true
puts "restartable-service #{Process.pid} jvm=#{jvm} listening on 127.0.0.1:#{port}"

loop do
  Thread.new(server.accept) do |client|
    case client.gets.to_s.strip
    when "info"
      client.puts JSON.generate(pid: Process.pid, ppid: Process.ppid, uid: Process.uid, jvm: jvm, started: started,
                                nofile: Process.getrlimit(:NOFILE))
    when "plan"
      client.puts JSON.generate(plan_summary(restart_log))
    when /\Arestart(?: (.+))?\z/
      # The delay lets this request be answered before the manager stops us.
      launch = JRestart.restart!(log: restart_log, delay: 1, reason: Regexp.last_match(1))
      choice = JRestart.restart_command
      via = [choice.source, choice.manager&.name].compact.join(":")
      if launch.nil?
        # In place: this JVM execs itself after the delay, same pid.
        client.puts "restarting in-place via=#{via}"
      else
        # A command that handed its work to systemd (systemd-run) may be gone already: nothing to look at.
        inherited = File.directory?("/proc/#{launch.pid}/fd") ? inherited_from_me(launch.pid) : nil
        shown = inherited.nil? ? "exited" : inherited.empty? ? "none" : inherited.join(",")
        client.puts "restarting #{launch.pid} via=#{via} inherited=#{shown}"
      end
    when /\Arestart-in (\d+)\z/
      launch = JRestart.restart!(log: restart_log, delay: Integer(Regexp.last_match(1)))
      client.puts launch ? "restarting #{launch.pid}" : "restarting in-place"
    when "restart-now"
      # No delay: restart! watches its command and raises if it fails at once.
      launch = JRestart.restart!(log: restart_log)
      client.puts launch ? "restarting #{launch.pid}" : "restarting in-place"
    when "restart-now-outcome"
      run_dir = ENV.fetch("DEMO_RUN_DIR")
      called = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      written = java.util.concurrent.CountDownLatch.new(1)
      java.lang.Runtime.runtime.add_shutdown_hook(java.lang.Thread.new do
        stopped = Process.clock_gettime(Process::CLOCK_MONOTONIC) - called
        File.write(File.join(run_dir, "stopped"), format("stopped=%.3f", stopped))
        written.await(10, java.util.concurrent.TimeUnit::SECONDS)
      end)
      outcome = begin
        launch = JRestart.restart!(log: restart_log)
        returned = Process.clock_gettime(Process::CLOCK_MONOTONIC) - called
        format("%s returned=%.3f", launch ? "restarting #{launch.pid}" : "restarting in-place", returned)
      rescue StandardError => e
        "error #{e.class}: #{e.message}"
      end
      File.write(File.join(run_dir, "outcome"), outcome)
      written.count_down
      client.puts outcome
    when "restart-bare"
      launch = JRestart.restart!
      client.puts launch ? "restarting #{launch.pid}" : "restarting in-place"
    when /\Alaunch-sleep (\d+)\z/
      client.puts JRestart.launch("sleep", Regexp.last_match(1)).pid
    when "launch-env-command"
      client.puts JRestart.launch(*Shellwords.split(ENV.fetch("JRESTART_COMMAND")), log: restart_log, delay: 1).pid
    when "record"
      record = JRestart.last_restart&.to_h
      client.puts JSON.generate(record&.merge(requested_at: record[:requested_at].utc.iso8601(3)))
    when "exit"
      client.puts "exiting"
      client.close
      exit!(0)
    else
      client.puts Process.pid
    end
  rescue StandardError => e
    client.puts "error #{e.class}: #{e.message}"
  ensure
    client.close unless client.closed?
  end
end
