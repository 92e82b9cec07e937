# frozen_string_literal: true

# Parts 1 and 2 of `bin/rake bench` for one heap size, in a JVM of its own
# that bench/bench.rb starts with -Xms = -Xmx:
#
#   java -Xms.. -Xmx.. -jar jruby-complete.jar -X+C -I lib bench/heap.rb GIB WARMUP_S RUNS OUT
#
# Fills GIB GiB of the heap with arrays it holds and writes every page, then
# starts /bin/true with each method for WARMUP_S seconds untimed and RUNS
# times timed, until the start call returns and until the child has been
# reaped; after each method it times one write over every touched page (the
# copy-on-write bill). The raw numbers go to OUT as JSON.
require "json"
require_relative "starters"

module JRestartBench
  # Arrays filling most of the heap, and a write of one long in every page.
  class TouchedHeap
    PAGE = 4096
    CHUNK = 64 << 20
    # G1 puts each array this large into whole regions; less than 64 MiB of
    # payload keeps the 16-byte header from spilling into one more region.
    CHUNK_LONGS = (CHUNK - PAGE) / 8
    LONGS_PER_PAGE = PAGE / 8

    attr_reader :bytes

    def initialize(gib)
      @chunks = Array.new((gib << 30) / CHUNK) { Java::long[CHUNK_LONGS].new }
      @bytes = @chunks.size * CHUNK_LONGS * 8
      @value = 0
      # The JVM zeroed the arrays; these passes also get the loop compiled
      # before it is timed.
      3.times { write_pass }
    end

    def pages
      @bytes / PAGE
    end

    # Nanoseconds to write one long in every page of every array.
    def write_pass
      @value += 1
      start = Starters.now
      @chunks.each { |chunk| write_pages(chunk, @value) }
      Starters.now - start
    end

    private

    # A method of its own so that JRuby compiles the loop early.
    def write_pages(chunk, value)
      i = 0
      n = chunk.length
      while i < n
        chunk[i] = value
        i += LONGS_PER_PAGE
      end
    end
  end

  # Compared round by round; fork is measured alone and last, because it
  # leaves the whole JVM (not only the touched arrays) write-protected, which
  # would tax whatever ran after it.
  SPAWNS = %i[launch spawn process_builder].freeze
  # fork, slow per call at large heaps, is warmed up this often at least.
  MIN_FORK_WARMUP = 10

  def self.measure_heap(gib, warmup_s, runs)
    heap = TouchedHeap.new(gib)
    result = { heap_gib: gib, touched_bytes: heap.bytes, pages: heap.pages, baseline_pass_ns: heap.write_pass,
               gc: java.lang.management.ManagementFactory.getGarbageCollectorMXBeans.map(&:name) }
    java.lang.System.gc
    methods = Starters.compare(SPAWNS, warmup_s, runs)
    # A write pass pays for what the last start left write-protected, so one
    # start before it shows each method's bill.
    SPAWNS.each do |method|
      Starters.run(method) if methods[method][:status] == "ok"
      methods[method][:pass_ns] = heap.write_pass
    end
    java.lang.System.gc
    methods.merge!(Starters.compare([:fork], warmup_s, runs, min_warmup: MIN_FORK_WARMUP))
    methods[:fork][:pass_ns] = heap.write_pass
    methods.each do |method, outcome|
      $stderr.puts "  #{gib} GiB: #{Starters::NAMES.fetch(method)}: #{outcome[:status]} #{outcome[:reason]}".rstrip
    end
    result.merge(methods: methods)
  end
end

if $PROGRAM_NAME == __FILE__
  gib, warmup_s, runs, out = ARGV
  File.write(out, JSON.generate(JRestartBench.measure_heap(Integer(gib), Float(warmup_s), Integer(runs))))
end
