# frozen_string_literal: true

require "tmpdir"
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
# The specs' runner for real service managers: the demo runs the service
# exactly as the managers spec does.
require_relative "../spec/support/supervised"

# `bin/rake demo [MANAGER=init.d|supervisord|runit|daemontools|s6]`: runs
# examples/demo_service.rb under that service manager, asks it to restart
# itself, waits until a different pid answers on the same port, and shows
# the restart record that new JVM read (JRestart.last_restart).
module JRestartDemo
  REASON = "demo: a plugin asked for it"

  module_function

  def run(manager: ENV.fetch("MANAGER", "init.d"), out: $stdout)
    Dir.mktmpdir("jrestart-demo") do |dir|
      supervised = JRestartSpec::Supervised.create(manager, dir, JRestartSpec::Loopback.free_port)
      say = ->(label, text) { out.puts(format("  %-10s %s", "#{label}:", text)) }
      out.puts "jrestart demo under #{supervised.name}, service on 127.0.0.1:#{supervised.port}, run directory #{dir}"
      ok = false
      begin
        supervised.start || (return failed(out, dir, "#{supervised.name} could not start the service"))
        old_pid = supervised.answering_pid
        return failed(out, dir, "the service did not answer on port #{supervised.port}") unless old_pid

        say.("started", "pid #{old_pid}; #{supervised.status.first}")
        round = supervised.restart(old_pid, reason: REASON)
        return failed(out, dir, round[:error]) if round[:error]

        say.("restart", "pid #{old_pid} called JRestart.restart!: restart command pid #{round[:restart_pid]}, " \
                        "chosen by #{round[:via]}")
        say.("inherited", "descriptors above 2 the restart command got from the service: #{round[:inherited]}")
        say.("answered", format("new pid %d on the same port, %.2f s after the restart request",
                                round[:new_pid], round[:seconds]))
        say.("status", supervised.status.first)
        log = File.join(dir, "restart.log")
        File.foreach(log) { |line| say.("log", line.chomp) } if File.exist?(log)
        record = settled_record(supervised)
        say.("record", "JRestart.last_restart in pid #{round[:new_pid]}:#{record ? "" : " nil"}")
        record&.each { |field, value| out.puts(format("    %-15s %s", field, value.inspect)) }
        ok = round[:inherited] == "none" && supervised.status.last == round[:new_pid] &&
             record&.values_at("previous_pid", "reason") == [old_pid, REASON]
      ensure
        stopped = supervised.stop
        say.("stopped", stopped ? "service and #{supervised.name} stopped, nothing left running" : "STOP FAILED")
        ok &&= stopped
      end
      out.puts(ok ? "OK" : "FAILED")
      ok
    end
  end

  # The new service's record once the restart command's exit status is in
  # it (the command may still be finishing when the new JVM answers).
  def settled_record(supervised)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
    loop do
      record = supervised.record
      return record if record.nil? || record["command_status"] || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.1
    end
  end

  def failed(out, dir, why)
    out.puts "FAILED: #{why}"
    Dir.glob(File.join(dir, "*.{log,out}")).sort.each { |path| out.puts("--- #{File.basename(path)}\n#{File.read(path)}") }
    false
  end
end
