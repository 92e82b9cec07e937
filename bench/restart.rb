# frozen_string_literal: true

require "tmpdir"
require_relative "../spec/support/supervised"

module JRestartBench
  # Part 4 of `bin/rake bench`: the demo service restarted under its init
  # script, run as `bin/rake demo` runs it (spec/support/supervised.rb) with
  # bench/restart_probe.rb loaded into every generation, timed from the
  # restart request to a new pid answering on the same port.
  module Restart
    PROBE = File.expand_path("restart_probe.rb", __dir__)
    POLL = 0.005
    TIMEOUT = JRestartSpec::Supervised::TIMEOUT

    class Failure < StandardError; end

    module_function

    # Why part 4 cannot run on this machine, or nil.
    def unavailable
      return "it needs root, as bin/rake demo does" unless Process.uid.zero?
      return nil if ENV.fetch("PATH").split(":").any? { |dir| File.executable?(File.join(dir, "start-stop-daemon")) }

      "it needs start-stop-daemon (Debian's dpkg)"
    end

    # rounds restarts in a row, one Hash of timings each; yields each as it ends.
    def measure(rounds, &each)
      # The service inherits it: restarts in a row are the point here, and the guard would refuse the sixth.
      ENV["JRESTART_LIMIT"] = "off"
      Dir.mktmpdir("jrestart-bench") do |dir|
        service = JRestartSpec::Supervised.create("init.d", dir, JRestartSpec::Loopback.free_port,
                                                  jruby_options: ["-r", PROBE])
        begin
          raise Failure, "init.d could not start the demo service" unless service.start

          pid = service.answering_pid
          raise Failure, "the demo service never answered on port #{service.port}" unless pid

          Array.new(rounds) do
            timings = round(service, pid, dir)
            pid = timings[:new_pid]
            each.call(timings)
            timings
          end
        ensure
          # Said next to whatever else went wrong, never instead of it.
          warn "bin/rake bench: processes of the demo service were left running (#{dir})" unless service.stop
        end
      end
    end

    def round(service, old_pid, dir)
      asked = now
      gone = Thread.new { gone_at(old_pid, asked + TIMEOUT) }
      reply = JRestartSpec::Loopback.ask(service.port, "restart").to_s
      _, restart_pid, _via, inherited = reply.match(JRestartSpec::Supervised::RESTARTING).to_a
      raise Failure, "the service answered #{reply.inspect} to restart" unless restart_pid
      raise Failure, "the restart command inherited #{inherited} from the service" unless inherited == "none"

      new_pid = service.answering_pid(other_than: old_pid)
      answered = now
      raise Failure, "no new pid answered within #{TIMEOUT} s" unless new_pid

      stopped = gone.value or raise Failure, "pid #{old_pid} did not go away"
      wait_for_status(service, new_pid)
      call_ns, delay = File.read(File.join(dir, "restart-call-#{old_pid}")).split
      { old_pid: old_pid, new_pid: new_pid, total_s: answered - asked, call_ms: Integer(call_ns) / 1e6,
        delay_s: Float(delay), stop_s: stopped - asked - Float(delay), start_s: answered - stopped }
    end

    # Seconds.
    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    # When pid went away (or became a zombie, which the init here reaps late).
    def gone_at(pid, deadline)
      while now < deadline
        state = File.read("/proc/#{pid}/stat").split(") ", 2).last[0]
        return now if state == "Z"

        sleep POLL
      end
      nil
    rescue Errno::ENOENT, Errno::ESRCH
      now
    end

    # The init script's own status reports the new pid before the next round starts.
    def wait_for_status(service, pid)
      deadline = now + TIMEOUT
      sleep 0.05 until service.status.last == pid || now > deadline
      raise Failure, "init.d status never reported pid #{pid} up" unless service.status.last == pid
    end
  end
end
