# frozen_string_literal: true

require "tmpdir"
require_relative "../support/supervised"

# The demo service runs under each real service manager and calls
# JRestart.restart! with no command: the command comes from detection (or,
# under the init script, from JRESTART_COMMAND). Every round must bring up a
# new pid on the same port that the manager's own status command reports up.
RSpec.describe "JRestart.restart! with no command under real service managers" do
  ROUNDS = Integer(ENV.fetch("ROUNDS", "10"))
  EXPECTED_VIA = Hash.new { |_, manager| "detected:#{manager}" }.merge("init.d" => "environment")

  def logs(dir)
    Dir.glob(File.join(dir, "*.{log,out}")).sort.map { |path| "--- #{File.basename(path)}\n#{File.read(path)}" }.join("\n")
  end

  # Debian package => a program of it; CI installs them all (.ci/run).
  PACKAGES = { "supervisord" => %w[supervisor supervisord], "runit" => %w[runit runsv],
               "daemontools" => %w[daemontools supervise], "s6" => %w[s6 s6-supervise],
               "init.d" => %w[dpkg start-stop-daemon] }.freeze

  JRestartSpec::Supervised.managers.each_key do |manager|
    it "#{manager}: #{ROUNDS} restarts in a row, each a new pid on the same port that #{manager} reports up" do
      package, program = PACKAGES.fetch(manager)
      unless ENV["PATH"].split(":").any? { |dir| File.executable?(File.join(dir, program)) } || ENV["CI"]
        skip "#{program} is not installed (apt-get install #{package}); CI installs it"
      end

      Dir.mktmpdir("jrestart-#{manager}") do |dir|
        supervised = JRestartSpec::Supervised.create(manager, dir, JRestartSpec::Loopback.free_port)
        seconds = []
        begin
          expect(supervised.start).to be_truthy
          pid = supervised.answering_pid
          expect(pid).to be_a(Integer), "the service never answered:\n#{logs(dir)}"
          wait_until(message: "#{manager} to report pid #{pid} up") { supervised.status.last == pid }

          ROUNDS.times do |i|
            round = supervised.restart(pid)
            expect(round[:error]).to be_nil, "round #{i + 1}: #{round[:error]}\n#{logs(dir)}"
            expect(round[:via]).to eq(EXPECTED_VIA[manager])
            expect(round[:inherited]).to eq("none")
            expect(round[:new_pid]).not_to eq(pid)
            wait_until(message: "#{manager} to report pid #{round[:new_pid]} up") do
              supervised.status.last == round[:new_pid]
            end
            pid = round[:new_pid]
            seconds << round[:seconds]
          end
        ensure
          expect(supervised.stop).to be(true), "processes of this run were left running:\n#{logs(dir)}"
        end
        median = seconds.sort[seconds.size / 2]
        RSpec.configuration.reporter.message(
          format("\n  %s: %d/%d restarts, request to new pid answering: median %.2f s, max %.2f s",
                 manager, seconds.size, ROUNDS, median, seconds.max)
        )
      end
    end
  end

  # restart! without a delay watches its command for up to 2 s; the manager's
  # stop reaching the JVM ends the watch too: the job is the manager's then,
  # and what the plugin does after restart! runs while the JVM shuts down, or
  # never. The service's shutdown hook holds the stop until it has written
  # restart!'s outcome (spec/support/restartable_service.rb).
  RESTARTABLE_SERVICE = File.expand_path("../support/restartable_service.rb", __dir__)

  JRestartSpec::Supervised.managers.each_key do |manager|
    it "#{manager}: restart! without delay returns when the command exits or the manager's stop reaches the JVM, not at the watch's end" do
      package, program = PACKAGES.fetch(manager)
      unless ENV["PATH"].split(":").any? { |dir| File.executable?(File.join(dir, program)) } || ENV["CI"]
        skip "#{program} is not installed (apt-get install #{package}); CI installs it"
      end

      Dir.mktmpdir("jrestart-#{manager}") do |dir|
        supervised = JRestartSpec::Supervised.create(manager, dir, JRestartSpec::Loopback.free_port,
                                                     service: RESTARTABLE_SERVICE)
        begin
          expect(supervised.start).to be_truthy
          pid = supervised.answering_pid
          expect(pid).to be_a(Integer), "the service never answered:\n#{logs(dir)}"
          wait_until(message: "#{manager} to report pid #{pid} up") { supervised.status.last == pid }
          JRestartSpec::Loopback.ask(supervised.port, "restart-now-outcome")
          expect(supervised.answering_pid(other_than: pid)).to be_a(Integer), logs(dir)
          outcome = File.read(File.join(dir, "outcome"))
          stopped = File.read(File.join(dir, "stopped"))
          RSpec.configuration.reporter.message("\n  #{manager}, restart! without delay: #{outcome}, #{stopped}")
          expect(outcome).to match(/\Arestarting \d+ returned=\d/)
          returned = Float(outcome[/returned=(\S+)/, 1])
          # Never after the stop (half a second of slack for a busy machine): the
          # watch used to hold restart! for its 2 s while the JVM was stopping.
          expect(returned).to be <= Float(stopped[/stopped=(\S+)/, 1]) + 0.5
        ensure
          expect(supervised.stop).to be(true), "processes of this run were left running:\n#{logs(dir)}"
        end
      end
    end
  end
end
