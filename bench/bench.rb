# frozen_string_literal: true

require "json"
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require_relative "../spec/support/jruby"
require_relative "starters"
require_relative "fds"
require_relative "report"
require_relative "chart"
require_relative "restart"

# `bin/rake bench` (rakelib/bench.rake):
#   1. start latency of /bin/true against touched heap size, one JVM per size
#      (bench/heap.rb), next to the C floor (bench/spawn_floor.c) at the same size;
#   2. the copy-on-write bill each method leaves behind;
#   3. descriptor work with 10 to 10,000 descriptors open (bench/fds.rb);
#   4. the demo service's whole restart under its init script (bench/restart.rb).
# Tables go to stdout and RESULTS/bench.txt, every summary to RESULTS/bench.csv,
# the chart to RESULTS/start-latency.png. It reports, it never asserts.
module JRestartBench
  ROOT = File.expand_path("..", __dir__)
  TMP = File.join(ROOT, "tmp", "bench")
  FLOOR = File.join(TMP, "spawn_floor")
  HEADROOM_MB = 512
  # What a JVM needs besides its heap (metaspace, code, threads), with a margin.
  JVM_OVERHEAD_MB = 1024
  FLOOR_WARMUP_RUNS = 20
  JVM_LIMIT_S = 900
  THP = "/sys/kernel/mm/transparent_hugepage/enabled"

  Settings = Struct.new(:heaps, :runs, :warmup_s, :fd_counts, :restarts, :results, keyword_init: true)
  FULL = Settings.new(heaps: [0, 1, 4, 8], runs: 200, warmup_s: 3, fd_counts: [10, 1_000, 10_000], restarts: 10,
                      results: File.join(ROOT, "bench", "results"))
  # Under two minutes; its results stay out of the way of the full run's.
  QUICK = Settings.new(heaps: [0, 1], runs: 50, warmup_s: 0.5, fd_counts: [10, 1_000, 10_000], restarts: 1,
                       results: File.join(ROOT, "bench", "results", "quick"))

  # Something that stops a part of the bench: said at the end, and the run fails.
  class Stop < StandardError; end

  module_function

  # true when every part ran and every method started and reaped its children.
  def run(quick:, xchart_classpath:)
    settings = quick ? QUICK : FULL
    progress "start"
    report = Report.new(settings.results)
    facts = machine
    report.machine(facts, settings)
    problems = []
    heaps = start_latency(settings, report, problems)
    descriptors = descriptor_work(settings, report, problems)
    restart(settings, report, problems)
    report.section("Targets (reported, not asserted)")
    report.targets(heaps, descriptors)
    chart(report, heaps, facts, xchart_classpath) unless heaps.empty?
    report.say
    report.say "written: #{%w[bench.txt bench.csv start-latency.png].map { |name| report.path(name) }.join(", ")}"
    report.close
    problems.each { |problem| warn "bin/rake bench: FAILED: #{problem}" }
    problems.empty?
  end

  def start_latency(settings, report, problems)
    report.section("1, 2. Start latency of /bin/true against touched heap size, and the write pass after")
    report.heap_legend
    heaps = []
    settings.heaps.each do |gib|
      shortage = memory_shortage(gib)
      if shortage
        report.note(shortage)
        problems << shortage
        break
      end
      progress "#{gib} GiB heap"
      result = jvm(heap_mb(gib), "heap.rb", [gib, settings.warmup_s, settings.runs])
      result[:jvm] = "-Xms#{heap_mb(gib)}m -Xmx#{heap_mb(gib)}m"
      result[:methods][:floor] = floor(result[:touched_bytes], settings.runs)
      report.heap(result)
      problems.concat(failures(result[:methods], "at #{gib} GiB"))
      heaps << result
    rescue Stop => e
      report.note(e.message)
      problems << e.message
      break
    end
    report.heaps_summary(heaps) unless heaps.empty?
    heaps
  end

  # "METHOD WHERE: reason" for each method whose child failed.
  def failures(methods, where)
    methods.select { |_, outcome| outcome[:status] == "failed" }
           .map { |method, outcome| "#{Report::NAMES.fetch(method)} #{where}: #{outcome[:reason]}" }
  end

  def descriptor_work(settings, report, problems)
    report.section("3. Descriptor work with about #{settings.fd_counts.join(", ")} descriptors open " \
                   "(the JVM's own, then half /dev/null, half UNIX socket pairs)")
    progress "descriptors"
    result = jvm(HEADROOM_MB, "fds.rb", [settings.fd_counts.join(","), settings.warmup_s, settings.runs])
    report.descriptors(result)
    result[:counts].each do |count|
      problems.concat(failures(count[:launch] || {}, "with #{count[:open]} fds"))
    end
    result
  rescue Stop => e
    report.note(e.message)
    problems << e.message
    nil
  end

  def restart(settings, report, problems)
    report.section("4. Whole restart: the demo service under its init script (start-stop-daemon), " \
                   "#{settings.restarts} times")
    unavailable = Restart.unavailable
    return report.note("skipped: #{unavailable}") if unavailable

    progress "restarts"
    done = 0
    rounds = Restart.measure(settings.restarts) { |round| report.restart_round(done += 1, round) }
    report.restarts(rounds)
  rescue Restart::Failure => e
    report.note("FAILED: #{e.message}")
    problems << "whole restart: #{e.message}"
  end

  def chart(report, heaps, facts, classpath)
    series = Report::ORDER.filter_map do |method|
      points = heaps.filter_map do |result|
        outcome = result[:methods].fetch(method)
        [result[:heap_gib], Summary.of(outcome[:exit_ns]).median / 1e6] if outcome[:status] == "ok"
      end
      [Report::NAMES.fetch(method), points] unless points.empty?
    end
    title = "Starting /bin/true from a JVM: #{facts[:cpu]}, #{facts[:cores]} cores, " \
            "Java #{ENV_JAVA["java.runtime.version"]}, JRuby #{JRUBY_VERSION}"
    Chart.write(report.path("start-latency.png"), classpath, title, series.to_h)
  end

  def progress(text)
    @started ||= Process.clock_gettime(Process::CLOCK_MONOTONIC)
    warn format("bench: %s (at %.0f s)", text, Process.clock_gettime(Process::CLOCK_MONOTONIC) - @started)
  end

  def heap_mb(gib)
    (gib << 10) + HEADROOM_MB
  end

  # Why the machine cannot give gib GiB of heap without swapping, or nil.
  def memory_shortage(gib)
    needed = heap_mb(gib) + JVM_OVERHEAD_MB
    available = File.read("/proc/meminfo")[/^MemAvailable:\s+(\d+) kB/, 1].to_i >> 10
    return nil if available >= needed

    "stopped before the #{gib} GiB heap: it needs about #{needed} MiB, MemAvailable is #{available} MiB " \
      "(this bench does not swap)"
  end

  # Runs bench/SCRIPT in a JVM of its own with the jar this rake uses and lib/;
  # its progress goes to our stderr, its numbers come back as JSON.
  def jvm(heap_mb, script, args)
    out = File.join(TMP, "#{File.basename(script, ".rb")}.json")
    File.delete(out) if File.exist?(out)
    # Compiles every Ruby method up front, so that no timing loop runs interpreted.
    argv = [*JRestartSpec::JRuby.command("-Xms#{heap_mb}m", "-Xmx#{heap_mb}m"), "-X+C", File.join(__dir__, script),
            *args.map(&:to_s), out]
    process = java.lang.ProcessBuilder.new(argv.to_java(:string)).inheritIO.start
    unless process.waitFor(JVM_LIMIT_S, java.util.concurrent.TimeUnit::SECONDS)
      process.destroyForcibly.waitFor
      raise Stop, "bench/#{script} #{args.join(" ")} did not finish within #{JVM_LIMIT_S} s (killed)"
    end
    raise Stop, "bench/#{script} #{args.join(" ")} failed (exit #{process.exitValue})" unless process.exitValue.zero?

    JSON.parse(File.read(out), symbolize_names: true)
  end

  # The C floor at the same touched size, in the raw form the JVMs report.
  def floor(bytes, runs)
    output = IO.popen([FLOOR, bytes.to_s, FLOOR_WARMUP_RUNS.to_s, runs.to_s], &:read)
    raise Stop, "#{FLOOR} failed (#{$?.inspect})" unless $?.success?

    timed = output.scan(/^run (\d+) (\d+)$/).map { |pair| pair.map(&:to_i) }
    before, after = output.scan(/^pass_ns (\d+)$/).flatten.map(&:to_i)
    { status: "ok", returns_ns: timed.map(&:first), exit_ns: timed.map(&:last), baseline_pass_ns: before,
      pass_ns: after }
  end

  def machine
    meminfo = File.read("/proc/meminfo")
    { cpu: File.foreach("/proc/cpuinfo").grep(/^model name/).first.to_s.split(":", 2).last.to_s.strip,
      cores: java.lang.Runtime.getRuntime.availableProcessors,
      ram_gib: (meminfo[/^MemTotal:\s+(\d+) kB/, 1].to_i / 1024.0**2).round(1),
      os: File.read("/etc/os-release")[/^PRETTY_NAME="?([^"\n]*)/, 1],
      kernel: File.read("/proc/sys/kernel/osrelease").strip,
      glibc: `getconf GNU_LIBC_VERSION`.strip,
      thp: File.exist?(THP) ? File.read(THP)[/\[(\w+)\]/, 1] : "n/a",
      java: "#{ENV_JAVA["java.vm.name"]} #{ENV_JAVA["java.runtime.version"]}",
      jruby: "JRuby #{JRUBY_VERSION} (Ruby #{RUBY_VERSION})",
      gcc: `gcc -dumpfullversion`.strip,
      load: File.read("/proc/loadavg").split.first.to_f }
  end
end
