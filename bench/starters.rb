# frozen_string_literal: true

require "jrestart"

module JRestartBench
  # The ways of starting /bin/true that `bin/rake bench` compares, used in the
  # child JVMs (bench/heap.rb, bench/fds.rb).
  module Starters
    COMMAND = "/bin/true"
    # A run whose child has not exited by then failed (fork's watchdog gives up after 8 × 1 s itself).
    TIMEOUT_S = 10
    NAMES = {
      launch: "JRestart.launch",
      launch_sockets: "launch(close: :sockets)",
      fork: "launch(strategy: :fork)",
      spawn: "Process.spawn",
      process_builder: "ProcessBuilder",
    }.freeze

    # A child that did not start, did not exit in time or did not exit 0.
    class Failure < StandardError; end

    module_function

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
    end

    # Yields for seconds and at least at_least times (a warm-up: on this kind
    # of machine the JIT needs seconds, not a fixed count, to settle).
    def repeat_for(seconds, at_least = 1)
      deadline = now + (seconds * 1e9).to_i
      count = 0
      while count < at_least || now < deadline
        yield
        count += 1
      end
      count
    end

    # method => outcome: a first (cold) run each, a warm-up of warmup_s and
    # runs timed rounds. Each round runs every method once, in turn, so that a
    # burst of load from elsewhere hits them alike. A method this jrestart
    # does not know is "unavailable"; one whose child fails is "failed" and
    # leaves the rounds.
    def compare(methods, warmup_s, runs, min_warmup: 1)
      outcomes = {}
      active = methods.select do |method|
        first = run(method)
        outcomes[method] = { status: "ok", first_returns_ns: first.first, returns_ns: [], exit_ns: [] }
      rescue ArgumentError => e
        outcomes[method] = { status: "unavailable", reason: e.message }
        false
      rescue Failure => e
        outcomes[method] = { status: "failed", reason: e.message }
        false
      end
      repeat_for(warmup_s, min_warmup) { active = round(active, outcomes, false) }
      runs.times { active = round(active, outcomes, true) }
      outcomes
    end

    # The methods still active after running each once.
    def round(methods, outcomes, record)
      methods.select do |method|
        returned, exited = run(method)
        if record
          outcomes[method][:returns_ns] << returned
          outcomes[method][:exit_ns] << exited
        end
        true
      rescue Failure => e
        outcomes[method] = { status: "failed", reason: e.message }
        false
      end
    end

    # One run: [ns until the start call returned, ns until the child was reaped].
    def run(method)
      start = now
      child = start(method)
      returned = now
      problem = finish(method, child)
      exited = now
      release(method, child)
      raise Failure, "#{COMMAND}: #{problem}" if problem

      [returned - start, exited - start]
    rescue SystemCallError => e
      raise Failure, "#{NAMES.fetch(method)} raised #{e.class}: #{e.message}"
    end

    def start(method)
      case method
      when :launch then JRestart.launch(COMMAND)
      when :launch_sockets then JRestart.launch(COMMAND, close: :sockets)
      when :fork then JRestart.launch(COMMAND, strategy: :fork)
      when :spawn then Process.spawn(COMMAND)
      when :process_builder then java.lang.ProcessBuilder.new(COMMAND).start
      end
    end

    # Waits for the child: nil once it has exited 0, else what went wrong. A
    # child still running after TIMEOUT_S is killed and reaped.
    def finish(method, child)
      case method
      when :spawn
        # JRuby's spawn is a posix_spawn too: no JVM code runs in the child
        # that could hang it, so a plain wait is bounded (the parent process
        # also bounds this whole JVM).
        status = Process.wait2(child).last
        status.success? ? nil : status.inspect
      when :process_builder
        unless child.waitFor(TIMEOUT_S, java.util.concurrent.TimeUnit::SECONDS)
          child.destroyForcibly.waitFor
          return "did not exit within #{TIMEOUT_S} s (killed)"
        end
        child.exitValue.zero? ? nil : "exit value #{child.exitValue}"
      else
        status = child.wait(TIMEOUT_S)
        unless status
          Process.kill(:KILL, child.pid)
          child.wait
          return "pid #{child.pid} did not exit within #{TIMEOUT_S} s (killed)"
        end
        status.success? ? nil : status.inspect
      end
    end

    # ProcessBuilder's default pipes, closed outside the timed part so that
    # 200 runs do not leave 200 descriptors for the GC.
    def release(method, child)
      return unless method == :process_builder

      [child.getOutputStream, child.getInputStream, child.getErrorStream].each(&:close)
    end
  end
end
