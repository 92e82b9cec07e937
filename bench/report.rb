# frozen_string_literal: true

require "csv"
require "fileutils"
require_relative "starters"

module JRestartBench
  # Medians and p99 (nearest rank) of raw numbers.
  Summary = Struct.new(:median, :p99, :n) do
    def self.of(values)
      sorted = values.sort
      new(rank(sorted, 0.5), rank(sorted, 0.99), sorted.size)
    end

    def self.rank(sorted, quantile)
      sorted[(quantile * sorted.size).ceil - 1]
    end
  end

  # What `bin/rake bench` prints (stdout and bench.txt) and writes (bench.csv).
  class Report
    CSV_HEADER = %w[part method heap_gib open_fds measure unit median p99 n].freeze
    ORDER = %i[floor launch fork spawn process_builder].freeze
    NAMES = { floor: "C posix_spawn (floor)" }.merge(Starters::NAMES).freeze

    # name: the files' base name (NAME.txt, NAME.csv); header: the CSV's columns.
    def initialize(directory, name: "bench", header: CSV_HEADER)
      FileUtils.mkdir_p(directory)
      @directory = directory
      @name = name
      @header = header
      @text = File.open(File.join(directory, "#{name}.txt"), "w")
      @rows = []
    end

    def say(line = "")
      $stdout.puts(line)
      $stdout.flush
      @text.puts(line)
    end

    def path(name)
      File.join(@directory, name)
    end

    def close
      @text.close
      CSV.open(path("#{@name}.csv"), "w") do |csv|
        csv << @header
        @rows.each { |row| csv << row }
      end
    end

    def machine(facts, settings)
      say "jrestart bench on #{facts[:cpu]}, #{facts[:cores]} cores, #{facts[:ram_gib]} GiB RAM"
      say "  #{facts[:os]}, Linux #{facts[:kernel]}, #{facts[:glibc]}, transparent huge pages: #{facts[:thp]}"
      say "  #{facts[:java]}; #{facts[:jruby]}; C floor built with gcc #{facts[:gcc]}"
      say "  heaps #{settings.heaps.join(", ")} GiB, #{settings.runs} timed runs per method after " \
          "#{settings.warmup_s} s of warm-up; times in ms unless marked"
      say "  load average #{facts[:load]} at the start#{busy(facts)}"
    end

    def busy(facts)
      return "" if facts[:load] < facts[:cores] / 2.0

      ": the machine is busy, expect noisy numbers"
    end

    def section(title)
      say
      say "== #{title}"
    end

    def note(text)
      say "  #{text}"
    end

    def heap_legend
      note "returns / until exit: ms until the start call returned / until the child had exited and been reaped"
      note "1st call: the JVM's first start (cold); ÷ C: until exit ÷ the C floor's; " \
           "fork ÷: launch(strategy: :fork)'s"
      note "until exit ÷ this one's; write pass: one write to every touched page after the method's runs (the"
      note "faults it left behind: the copy-on-write bill)"
    end

    # Part 1 and 2 for one heap size: each method's run summaries.
    def heap(result)
      gib = result[:heap_gib]
      methods = result[:methods]
      floor_exit = Summary.of(methods[:floor][:exit_ns]).median
      fork = methods[:fork]
      fork_exit = fork[:status] == "ok" ? Summary.of(fork[:exit_ns]).median : nil
      record(2, "before any start", gib, nil, "write pass", "ms", Summary.of([result[:baseline_pass_ns]]), 1e6)
      say
      say "#{gib} GiB touched (#{result[:pages]} pages; JVM #{result[:jvm]}, #{result[:gc].first.split.first}); " \
          "write pass before any start: #{ms(result[:baseline_pass_ns])} ms, C program's: " \
          "#{ms(methods[:floor][:baseline_pass_ns])} ms"
      problems = []
      rows = ORDER.map do |method|
        outcome = methods.fetch(method)
        unless outcome[:status] == "ok"
          problems << "#{NAMES.fetch(method)}: #{outcome[:status].upcase}: #{outcome[:reason]}"
          next [NAMES.fetch(method)] + ["-"] * 8
        end

        returns = Summary.of(outcome[:returns_ns])
        exit = Summary.of(outcome[:exit_ns])
        record(1, method, gib, nil, "call returns", "ms", returns, 1e6)
        record(1, method, gib, nil, "until exit", "ms", exit, 1e6)
        record(2, method, gib, nil, "write pass after its runs", "ms", Summary.of([outcome[:pass_ns]]), 1e6)
        [NAMES.fetch(method), ms(outcome[:first_returns_ns]), ms(returns.median), ms(returns.p99), ms(exit.median),
         ms(exit.p99), ratio(exit.median, floor_exit), fork_exit ? ratio(fork_exit, exit.median) : "",
         ms(outcome[:pass_ns])]
      end
      table(["method", "1st call", "returns", "p99", "until exit", "p99", "÷ C", "fork ÷", "write pass"], rows)
      problems.each { |problem| note(problem) }
    end

    # The chart's numbers: until-exit medians (call-return medians) per method and heap.
    def heaps_summary(results)
      section("Start latency against heap size: until exit, median (call returns, median), ms")
      rows = ORDER.map do |method|
        [NAMES.fetch(method)] + results.map do |result|
          outcome = result[:methods].fetch(method)
          next outcome[:status] unless outcome[:status] == "ok"

          "#{ms(Summary.of(outcome[:exit_ns]).median)} (#{ms(Summary.of(outcome[:returns_ns]).median)})"
        end
      end
      table(["method"] + results.map { |result| "#{result[:heap_gib]} GiB" }, rows)
      section("Copy-on-write bill: one write to every touched page after each method's runs, ms")
      rows = [["before any start"] + results.map { |result| ms(result[:baseline_pass_ns]) }]
      rows += ORDER.map do |method|
        [NAMES.fetch(method)] + results.map { |result| ms(result[:methods].fetch(method)[:pass_ns]) }
      end
      table(["after"] + results.map { |result| "#{result[:heap_gib]} GiB" }, rows)
    end

    def descriptors(result)
      counts = result[:counts].reject { |count| count[:skipped] }
      result[:counts].select { |count| count[:skipped] }.each do |count|
        note "#{count[:target]} descriptors: skipped, #{count[:skipped]}"
      end
      headers = counts.map { |count| "#{count[:open]} open" }
      note "socket? on a UNIX socket, ns a call (median of #{counts.first[:socket_check].values.first.size} " \
           "batches of #{Descriptors::CALLS_PER_BATCH} calls; p99)"
      table(["check"] + headers,
            per_count(counts, :socket_check, "a call", "ns", 1) { |s| "#{s.median.round} (#{s.p99.round})" })
      note "every open descriptor with its target and type, ms a listing (median; p99)"
      table(["listing"] + headers,
            per_count(counts, :tables, "a listing", "ms", 1e6) { |s| "#{ms(s.median)} (#{ms(s.p99)})" })
      note "starting /bin/true: until exit, median (call returns, median), ms"
      rows = Descriptors::LAUNCH_METHODS.map do |method|
        [NAMES.fetch(method)] + counts.map do |count|
          outcome = count[:launch].fetch(method)
          next outcome[:status].upcase unless outcome[:status] == "ok"

          returns = Summary.of(outcome[:returns_ns])
          exit = Summary.of(outcome[:exit_ns])
          record(3, method, nil, count[:open], "call returns", "ms", returns, 1e6)
          record(3, method, nil, count[:open], "until exit", "ms", exit, 1e6)
          "#{ms(exit.median)} (#{ms(returns.median)})"
        end
      end
      table(["method"] + headers, rows)
      counts.each do |count|
        count[:launch].reject { |_, outcome| outcome[:status] == "ok" }.each do |method, outcome|
          note("#{count[:open]} open: #{NAMES.fetch(method)}: #{outcome[:status].upcase}: #{outcome[:reason]}")
        end
      end
    end

    def restart_round(index, round)
      say format("  round %2d: pid %d -> %d  total %.2f s = restart! %.2f ms + the rest %.2f s " \
                 "(delay %.2f s, stop %.2f s, new JVM up %.2f s)",
                 index, round[:old_pid], round[:new_pid], round[:total_s], round[:call_ms],
                 round[:total_s] - round[:call_ms] / 1e3, round[:delay_s], round[:stop_s], round[:start_s])
    end

    def restarts(rounds)
      columns = {
        "request to new pid answering (s)" => ->(r) { r[:total_s] },
        "restart command start: JRestart.restart! in the service (ms)" => ->(r) { r[:call_ms] },
        "the rest (s)" => ->(r) { r[:total_s] - r[:call_ms] / 1e3 },
        "  of which the demo's delay (s)" => ->(r) { r[:delay_s] },
        "  of which stopping the old JVM (s)" => ->(r) { r[:stop_s] },
        "  of which the new JVM until it answers (s)" => ->(r) { r[:start_s] },
      }
      rows = columns.map do |name, value|
        summary = Summary.of(rounds.map(&value))
        record(4, "init.d restart", nil, nil, name[/\A\s*(.*?) \(/, 1], name[/\((\w+)\)\z/, 1], summary)
        [name, format("%.3f", summary.median), format("%.3f", summary.p99)]
      end
      table(["#{rounds.size} restarts", "median", "max"], rows)
    end

    # The targets, reported against the numbers measured (never asserted).
    def targets(heaps, descriptors)
      exits = ->(result, method) { exit_median(result[:methods].fetch(method)) }
      p99s = ->(result, method) { p99(result[:methods].fetch(method), :exit_ns) }
      vs_spawn = heaps.map { |r| [r[:heap_gib], ratio_of(exits.(r, :launch), exits.(r, :spawn))] }
      target("launch until exit at most Process.spawn's median at every heap size", judge(vs_spawn) { |x| x <= 1 },
             vs_spawn.map { |gib, x| "#{gib} GiB launch ÷ spawn #{ratio_text(x)}" })
      vs_floor = heaps.map { |r| [r[:heap_gib], ratio_of(exits.(r, :launch), exits.(r, :floor))] }
      target("launch until exit at most 1.3× the C floor at every heap size", judge(vs_floor) { |x| x <= 1.3 },
             vs_floor.map { |gib, x| "#{gib} GiB #{ratio_text(x)}" })
      returns = heaps.map { |r| [r[:heap_gib], median(r[:methods][:launch], :returns_ns)] }
      target("launch call returns within 0.25 ms (median)", judge(returns) { |ns| ns <= 250_000 },
             returns.map { |gib, ns| "#{gib} GiB #{ns ? "#{ms(ns)} ms" : "n/a"}" })
      tails = heaps.map { |r| [r[:heap_gib], ratio_of(p99s.(r, :launch), p99s.(r, :spawn))] }
      target("launch until exit p99 at most Process.spawn's p99 at every heap size", judge(tails) { |x| x <= 1 },
             tails.map { |gib, x| "#{gib} GiB launch ÷ spawn #{ratio_text(x)}" })
      eight = heaps.find { |r| r[:heap_gib] == 8 }
      fork_factor = eight && ratio_of(exits.(eight, :fork), exits.(eight, :launch))
      target("at 8 GiB at least 100× faster than :fork (until exit)", fork_factor && fork_factor >= 100,
             [fork_factor ? format("%.0f×", fork_factor) : "not measured"])
      checks = (descriptors || {}).fetch(:counts, []).reject { |c| c[:skipped] }
      socket = checks.map { |c| [c[:open], Summary.of(c[:socket_check][:"JRestart.socket?(fd)"]).median] }
      target("socket? under 2 µs a call when warm", judge(socket) { |ns| ns < 2_000 },
             socket.map { |open, ns| "#{open} fds #{ns.round} ns" })
    end

    def ms(ns)
      return "" unless ns

      value = ns / 1e6
      format(value < 10 ? "%.3f" : value < 100 ? "%.2f" : "%.1f", value)
    end

    # One CSV row as it is.
    def row(*cells)
      @rows << cells
    end

    # An aligned text table: the first row is the header.
    def table(headers, rows)
      widths = headers.each_index.map { |i| ([headers] + rows).map { |row| row[i].to_s.size }.max }
      ([headers] + rows).each_with_index do |row, index|
        cells = row.each_with_index.map do |cell, i|
          i.zero? ? cell.to_s.ljust(widths[i]) : cell.to_s.rjust(widths[i])
        end
        say "  #{cells.join("  ")}".rstrip
        say "  #{widths.map { |w| "-" * w }.join("  ")}" if index.zero?
      end
    end

    private

    # Whether every [label, value] pair passes; nil when nothing was measured.
    def judge(pairs)
      return nil if pairs.empty? || pairs.any? { |_, value| value.nil? }

      pairs.all? { |_, value| yield value }
    end

    # met: true, false, or nil when there was nothing to judge by.
    def target(text, met, details)
      say "  #{met.nil? ? "n/a   " : met ? "met   " : "MISSED"}  #{text}: #{details.join("; ")}"
    end

    def exit_median(outcome)
      median(outcome, :exit_ns)
    end

    def median(outcome, key)
      outcome && outcome[:status] == "ok" ? Summary.of(outcome[key]).median : nil
    end

    def p99(outcome, key)
      outcome && outcome[:status] == "ok" ? Summary.of(outcome[key]).p99 : nil
    end

    def ratio_of(numerator, denominator)
      numerator && denominator ? numerator.fdiv(denominator) : nil
    end

    def ratio(numerator, denominator)
      x = ratio_of(numerator, denominator)
      x ? format(x < 10 ? "%.2f" : "%.0f", x) : ""
    end

    def ratio_text(x)
      x ? format("%.2f", x) : "n/a"
    end

    def per_count(counts, key, measure, unit, divisor)
      counts.first[key].keys.map do |name|
        [name.to_s] + counts.map do |count|
          summary = Summary.of(count[key].fetch(name))
          record(3, name.to_s, nil, count[:open], measure, unit, summary, divisor)
          yield summary
        end
      end
    end

    # One CSV row, in unit: the summary's numbers divided by divisor.
    def record(part, method, gib, open, measure, unit, summary, divisor = 1)
      name = method.is_a?(Symbol) ? NAMES.fetch(method) : method
      @rows << [part, name, gib, open, measure, unit, round(summary.median / divisor), round(summary.p99 / divisor),
                summary.n]
    end

    def round(value)
      format("%.4f", value).sub(/\.?0+\z/, "")
    end
  end
end
