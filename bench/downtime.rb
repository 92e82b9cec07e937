# frozen_string_literal: true

require "io/wait"
require "socket"
require "tmpdir"
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require_relative "../spec/support/supervised"
require_relative "report"

module JRestartBench
  # `bin/rake bench:restart`: what a restart costs the service's clients. A
  # client connects every 10 ms to bench/downtime_service.rb, asks for an
  # answer and waits for it, while the service restarts; side by side in one
  # run: in place with the listener handed over, in place rebinding, the
  # init script's restart under start-stop-daemon, and the overlap restart
  # (the new JVM beside the old one, which goes once the new one is ready). Per row, medians over the
  # rounds of: connects refused, connects that failed otherwise, the longest
  # wait for an answer, restart request → the new JVM's first answer, and the
  # new JVM's own boot (JVM start → listening), the floor of any restart that
  # starts a JVM. It reports, it never asserts.
  module Downtime
    SERVICE = File.expand_path("downtime_service.rb", __dir__)
    INTERVAL = 0.010
    # Client traffic before the request and after the new JVM's first answer.
    LEAD = 0.3
    TAIL = 0.5
    TIMEOUT = 120
    ROWS = {
      "in place, listener handed over" => { restart: "in_place", listen: "handover" },
      "in place, rebinding" => { restart: "in_place", listen: "rebind" },
      "init.d restart command" => { restart: "command", listen: "rebind" },
      "overlap, new JVM beside the old" => { restart: "overlap", listen: "handover" }
    }.freeze
    MEASURES = {
      refused: "connects refused",
      failed: "connects failed otherwise",
      longest_wait_s: "longest wait for an answer (s)",
      answers_s: "restart request -> new JVM answers (s)",
      boot_s: "new JVM's own boot (s)"
    }.freeze

    class Failure < StandardError; end

    Attempt = Struct.new(:at, :outcome, :wait, :token, :boot_ms)

    module_function

    def run(rounds:, results:, xchart_classpath:)
      report = Report.new(results, name: "restart-downtime", header: %w[mechanism measure median min max n])
      report.say "jrestart restart downtime: #{rounds} rounds per row, a client connecting every " \
                 "#{(INTERVAL * 1000).round} ms; #{RUBY_DESCRIPTION}"
      report.say "  load average #{File.read("/proc/loadavg").split.first} at the start"
      problems = []
      measured = ROWS.to_h do |name, row|
        values = Array.new(rounds) do |i|
          round(row).tap { |r| report.say "  #{name}, round #{i + 1}: #{format_round(r)}" }
        rescue Failure, SystemCallError => e
          problems << "#{name}, round #{i + 1}: #{e.message}"
          nil
        end
        [name, values.compact]
      end
      summarize(report, measured)
      chart(report, measured, xchart_classpath) if measured.values.all?(&:any?)
      report.say "written: #{%w[txt csv png].map { |ext| report.path("restart-downtime.#{ext}") }.join(", ")}"
      report.close
      problems.each { |problem| warn "bin/rake bench:restart: FAILED: #{problem}" }
      problems.empty?
    end

    def round(row)
      Dir.mktmpdir("jrestart-downtime") do |dir|
        port = JRestartSpec::Loopback.free_port
        service = start(row, dir, port)
        begin
          measure(port)
        ensure
          stop(service, port)
        end
      end
    end

    def start(row, dir, port)
      env = { "DEMO_PORT" => port.to_s, "DOWNTIME_LISTEN" => row[:listen], "DOWNTIME_RESTART" => row[:restart],
              "JRESTART_LIMIT" => "off" }
      if row[:restart] == "command"
        service = JRestartSpec::Supervised.create("init.d", dir, port, service: SERVICE, env: env)
        raise Failure, "init.d could not start the service" unless service.start
      else
        argv = JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START) + [SERVICE]
        env = env.merge("XDG_STATE_HOME" => dir)
        service = Process.spawn(env, *argv, in: File::NULL, out: File.join(dir, "out"), err: %i[child out])
      end
      raise Failure, "the service never answered on port #{port}" unless first_answer(port)

      service
    end

    def stop(service, port)
      if service.is_a?(Integer)
        # After an overlap the JVM serving is not the one started here (which has exited): both go.
        serving = JRestartSpec::Loopback.ask(port, "pid")
        [service, serving && Integer(serving)].compact.uniq.each do |pid|
          Process.kill(:KILL, pid)
        rescue Errno::ESRCH
          nil
        end
        Process.wait(service)
      elsif !service.stop
        raise Failure, "processes of the init.d service were left running (#{service.dir})"
      end
    rescue Errno::ESRCH, Errno::ECHILD
      nil
    end

    def first_answer(port)
      deadline = now + TIMEOUT
      until now > deadline
        answer = JRestartSpec::Loopback.ask(port, "ping")
        return answer.split[1] if answer

        sleep 0.05
      end
      nil
    end

    def measure(port)
      old_token = first_answer(port)
      attempts = Queue.new
      stop = false
      client = Thread.new { attempts << attempt(port) until stop }
      sleep LEAD
      asked = now
      reply = JRestartSpec::Loopback.ask(port, "restart")
      raise Failure, "the service answered #{reply.inspect} to restart" unless reply == "restarting"

      seen = []
      deadline = asked + TIMEOUT
      first_new = nil
      until first_new || now > deadline
        a = attempts.pop
        seen << a
        first_new = a if a.outcome == :ok && a.token != old_token
      end
      raise Failure, "no new JVM answered within #{TIMEOUT} s" unless first_new

      sleep TAIL
      stop = true
      client.join
      seen << attempts.pop until attempts.empty?
      summarize_round(seen.select { |a| a.at >= asked }, asked, first_new)
    ensure
      stop = true
      client&.join
    end

    def summarize_round(attempts, asked, first_new)
      ok = attempts.select { |a| a.outcome == :ok }
      { refused: attempts.count { |a| a.outcome == :refused }, failed: attempts.count { |a| a.outcome == :failed },
        longest_wait_s: ok.map(&:wait).max, answers_s: first_new.at + first_new.wait - asked,
        boot_s: first_new.boot_ms / 1000.0, attempts: attempts.size }
    end

    # One connect, one line: :ok with the answering JVM's token, :refused, or :failed.
    def attempt(port)
      started = now
      outcome, token, boot = begin
        TCPSocket.open("127.0.0.1", port) do |socket|
          socket.puts("ping")
          line = socket.wait_readable(TIMEOUT) && socket.gets
          _pid, token, boot = line&.split
          token ? [:ok, token, Integer(boot)] : [:failed]
        end
      rescue Errno::ECONNREFUSED
        [:refused]
      rescue IOError, SystemCallError
        [:failed]
      end
      waited = now - started
      sleep(INTERVAL - waited) if waited < INTERVAL
      Attempt.new(started, outcome, waited, token, boot)
    end

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    def format_round(r)
      "#{r[:attempts]} connects, #{r[:refused]} refused, #{r[:failed]} failed, longest wait " \
        "#{format("%.2f", r[:longest_wait_s])} s, answers after #{format("%.2f", r[:answers_s])} s, " \
        "boot #{format("%.2f", r[:boot_s])} s"
    end

    def median(values)
      Summary.of(values).median
    end

    def summarize(report, measured)
      report.section("Medians (min-max) over the rounds")
      headers = ["", *MEASURES.values]
      rows = measured.map do |name, rounds|
        cells = MEASURES.keys.map do |key|
          values = rounds.map { |r| r[key] }
          next "-" if values.empty?

          report.row(name, MEASURES[key], *[median(values), values.min, values.max].map { |v| v.round(3) }, values.size)
          key.to_s.end_with?("_s") ? "#{format("%.2f", median(values))} (#{format("%.2f", values.min)}-" \
                                     "#{format("%.2f", values.max)})" : "#{median(values)} (#{values.min}-#{values.max})"
        end
        [name, *cells]
      end
      report.table(headers, rows)
      ratios(report, measured)
    end

    # How much longer the clients of each row wait than the new JVM's own boot, and than the handover.
    def ratios(report, measured)
      handover = measured.values.first.map { |r| r[:answers_s] }
      return if handover.empty?

      report.section("Ratios of the medians: request -> new JVM answers")
      measured.each do |name, rounds|
        next if rounds.empty?

        answers = median(rounds.map { |r| r[:answers_s] })
        report.note format("%-32s %5.2fx its boot, %5.2fx the handover", name,
                           answers / median(rounds.map { |r| r[:boot_s] }), answers / median(handover))
      end
    end

    def chart(report, measured, classpath)
      java.lang.System.setProperty("java.awt.headless", "true")
      classpath.each { |jar| require jar }
      chart = org.knowm.xchart.CategoryChartBuilder.new.width(1100).height(640)
                                                 .title("jrestart: a client connecting every 10 ms during a restart " \
                                                        "(medians of #{measured.values.first.size} rounds)")
                                                 .xAxisTitle("").yAxisTitle("seconds").build
      labels = measured.map do |name, rounds|
        "#{name} (#{median(rounds.map { |r| r[:refused] })} refused)"
      end
      %i[answers_s longest_wait_s boot_s].each do |key|
        values = measured.values.map { |rounds| median(rounds.map { |r| r[key] }) }
        chart.addSeries(MEASURES[key], labels, values.map(&:to_f))
      end
      org.knowm.xchart.BitmapEncoder.saveBitmap(chart, report.path("restart-downtime.png"),
                                                org.knowm.xchart.BitmapEncoder::BitmapFormat::PNG)
    end
  end
end
