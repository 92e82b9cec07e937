# frozen_string_literal: true

module JRestartSpec
  # Many launches of /bin/true from many threads while other threads allocate
  # hard enough to keep the garbage collector running.
  class Load
    def initialize(count:, threads:, strategy: "spawn", churn: 2, bound: 60)
      @count = count
      @threads = threads
      @strategy = strategy.to_sym
      @churn = churn
      @bound = bound
    end

    def run
      gcs_before = collections
      stop = false
      churners = Array.new(@churn) { Thread.new { churn { stop } } }
      work = Queue.new
      @count.times { |i| work << i }
      results = Queue.new
      workers = Array.new(@threads) { Thread.new { launch_until_empty(work, results) } }
      # Bounded: a worker still running long after its share is a hang, reported, not waited for.
      hung = workers.count { |w| w.join(@bound * 10).nil? }
      stop = true
      churners.each(&:join)
      outcomes = Array.new(results.size) { results.pop }
      { "launched" => outcomes.size, "outcomes" => outcomes.map(&:first).tally,
        "max_call_ms" => (outcomes.map(&:last).max * 1000).round, "hung_workers" => hung,
        "gcs" => collections - gcs_before }
    end

    private

    def launch_until_empty(work, results)
      loop do
        work.pop(true)
        started = clock
        begin
          status = JRestart.launch("/bin/true", strategy: @strategy).wait(@bound)
          results << [status&.success? ? "ok" : "status #{status.inspect}", clock - started]
        rescue StandardError => e
          results << ["#{e.class}: #{e.message}", clock - started]
        end
      end
    rescue ThreadError # the queue is empty
      nil
    end

    def churn
      kept = []
      until yield
        kept << (("x" * 4096) * 16)
        kept.shift if kept.size > 2000
      end
    end

    def collections
      java.lang.management.ManagementFactory.getGarbageCollectorMXBeans.sum(&:getCollectionCount)
    end

    def clock
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
