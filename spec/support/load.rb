# frozen_string_literal: true

module JRestartSpec
  # Many launches of /bin/true from many threads while other threads allocate
  # hard enough to keep the garbage collector running. The workers go on past
  # count until the collector has run GCS_DURING times since they started: a
  # fast machine would otherwise finish between two collections.
  class Load
    GCS_DURING = 2

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
      gcs_start = collections
      workers = Array.new(@threads) { Thread.new { launch_until_done(work, results, gcs_start) } }
      # Bounded: a worker still running long after its share is a hang, reported, not waited for.
      hung = workers.count { |w| w.join(@bound * 10).nil? }
      stop = true
      churners.each(&:join)
      outcomes = Array.new(results.size) { results.pop }
      { "launched" => outcomes.size, "outcomes" => outcomes.map(&:first).tally,
        "max_call_ms" => (outcomes.map(&:last).max * 1000).round, "hung_workers" => hung,
        "gcs" => collections - gcs_before, "gcs_during" => collections - gcs_start }
    end

    private

    def launch_until_done(work, results, gcs_start)
      deadline = clock + @bound
      loop do
        begin
          work.pop(true)
        rescue ThreadError # count reached: on until the collector has run meanwhile, within the bound
          break if collections - gcs_start >= GCS_DURING || clock > deadline
        end
        started = clock
        begin
          status = JRestart.launch("/bin/true", strategy: @strategy).wait(@bound)
          results << [status&.success? ? "ok" : "status #{status.inspect}", clock - started]
        rescue StandardError => e
          results << ["#{e.class}: #{e.message}", clock - started]
        end
      end
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
