# frozen_string_literal: true

require "json"
require "socket"
require "tmpdir"
require_relative "../support/nspawn"
require_relative "../support/orderly_hook"
require_relative "../support/supervised"

module JRestartSpec
  # The clients of spec/integration/stop_table_spec.rb.
  module StopTable
    # A 2 s request the service has taken (its first line came) when new
    # returns; result is "completed" once the
    # second came from the same JVM, else "cut".
    class InFlight
      def initialize(port)
        @socket = TCPSocket.new("127.0.0.1", port)
        @socket.puts("slow")
        first = @socket.gets
        raise "the slow request was not taken: #{first.inspect}" unless first == "working 0\n"

        @thread = Thread.new { @socket.wait_readable(60) ? @socket.gets : nil }
      end

      def result
        done = @thread.value == "done 0\n"
        done ? "completed" : "cut"
      rescue SystemCallError, IOError
        "cut"
      ensure
        @socket.close
      end
    end

    # A client connecting every 10 ms (each connect asks "info", waiting for
    # the answer) until one is answered by generation 1: each attempt's start
    # and outcome, the generation that answered, :refused, or the error class.
    class Prober
      def initialize(port)
        @attempts = []
        @thread = Thread.new do
          deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 240
          loop do
            started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
            outcome = attempt(port)
            @attempts << [started, outcome]
            break if outcome == 1 || started > deadline

            sleep 0.01
          end
        end
      end

      def attempt(port)
        Socket.tcp("127.0.0.1", port, connect_timeout: 5) do |socket|
          socket.puts("info")
          answer = socket.wait_readable(60) && socket.gets
          answer ? Integer(answer.split[1]) : :silent
        end
      rescue Errno::ECONNREFUSED
        :refused
      rescue SystemCallError, IOError => e
        e.class.name
      end

      # The outcomes of the attempts from since on, counted.
      def counts(since)
        @thread.join
        @attempts.select { |started, _| started >= since }.map(&:last).tally
      end
    end
  end
end

# Issue 18's table, rerun: "The table above, rerun, is the proof". One
# example per mechanism restarts spec/support/orderly_service.rb doing what
# the README tells a service to do for a restart that loses nothing
# (ORDERLY_DRAIN: JRestart.listen, an on_restart hook that stops accepting and
# drains), and observes every cell: the markers its at_exit handler, its
# Ruby-block shutdown hook and its plain-Java shutdown hook leave with the old
# pid, whether a 2 s request in flight at the restart call completed, the
# bytes of 100 written with sync = false found on disk, and the connects a
# client making one every 10 ms got refused from the restart call until the
# new JVM answered. after(:all) prints the table with what every row that ran
# observed.
RSpec.describe "the issue's table, rerun" do
  columns = ["at_exit", "Ruby-block hook", "Java hook", "in-flight request", "buffered bytes on disk",
             "refused connects"]
  mechanisms = {
    pid1: "in place, JVM is PID 1 (`unshare --pid --fork --mount-proc`)",
    tini: "in place under tini",
    user_unit: "in place, `User=` systemd unit (nspawn)",
    init_script: "init script (`demo-service restart` under start-stop-daemon, SIGTERM)",
    root_unit: "root unit, `systemctl restart` (nspawn)"
  }
  observed = {}
  notes = {}

  after(:all) do
    lines = ["| mechanism | #{columns.join(" | ")} |", "|#{"---|" * (columns.size + 1)}"]
    mechanisms.each do |row, title|
      cells = observed[row] ? observed[row].values_at(*columns) : ["not run"] * columns.size
      lines << "| #{title} | #{cells.join(" | ")} |"
    end
    lines << "| Tomcat 10.1 as PID 1 | see tomcat_spec |#{" |" * (columns.size - 1)}"
    notes.sort_by { |row, _| mechanisms.keys.index(row) }.each { |row, note| lines << "" << "#{mechanisms[row]}: #{note}" }
    RSpec.configuration.reporter.message("\n#{lines.join("\n")}\n")
  end

  def service_script
    File.expand_path("../support/orderly_service.rb", __dir__)
  end

  # The service's answer to info: [pid, generation]; nil while none comes.
  def info(port)
    answer = JRestartSpec::Loopback.ask(port, "info").to_s.split
    answer.size == 3 ? answer.first(2).map { |word| Integer(word) } : nil
  end

  def wait_for_generation(port, generation, timeout: 180)
    wait_until(timeout: timeout, interval: 0.2, message: "generation #{generation} on port #{port}") do
      answer = info(port)
      answer if answer&.last == generation
    end
  end

  # Restarts the service on port (generation 0, pid old_pid) as a client sees it: a slow request in flight, the
  # prober going, "restart", generation 1 answering. read: a marker's content (name of the old generation's
  # file), or nil. Records the row's cells, then returns [the cells, the new [pid, generation]].
  def restart_observed(row, port, old_pid, read, observed, notes)
    in_flight = JRestartSpec::StopTable::InFlight.new(port)
    prober = JRestartSpec::StopTable::Prober.new(port)
    sleep 0.1
    asked = now
    expect(JRestartSpec::Loopback.ask(port, "restart")).to eq("restarting")
    fresh = wait_for_generation(port, 1)
    took = now - asked
    counts = prober.counts(asked)
    yes = ->(name) { read[name] == old_pid.to_s ? "yes" : "no" }
    cells = { "at_exit" => yes["at_exit"], "Ruby-block hook" => yes["ruby_hook"], "Java hook" => yes["java_hook"],
              "in-flight request" => in_flight.result, "buffered bytes on disk" => read["buffered"].to_s.bytesize,
              "refused connects" => counts.fetch(:refused, 0) }
    observed[row] = cells
    notes[row] = format("%d connects from the restart call until the new JVM answered %.1f s later: %s",
                        counts.values.sum, took, counts.map { |outcome, n| "#{n} #{outcome_name(outcome)}" }.join(", "))
    [cells, fresh]
  end

  def outcome_name(outcome)
    case outcome
    when 0 then "answered by the old JVM"
    when 1 then "by the new one"
    else outcome.to_s
    end
  end

  def expect_in_place(cells, message = nil)
    expect(cells).to eq("at_exit" => "yes", "Ruby-block hook" => "yes", "Java hook" => "yes",
                        "in-flight request" => "completed", "buffered bytes on disk" => 100, "refused connects" => 0), message
  end

  # The command mechanisms stop the old JVM in order too; whatever they refuse meanwhile is reported, not asserted.
  def expect_orderly_command(cells)
    expect(cells.reject { |column, _| column == "refused connects" })
      .to eq("at_exit" => "yes", "Ruby-block hook" => "yes", "Java hook" => "yes",
             "in-flight request" => "completed", "buffered bytes on disk" => 100)
  end

  def read_in(dir)
    lambda do |name|
      path = File.join(dir, "#{name}.0")
      File.exist?(path) ? File.read(path) : nil
    end
  end

  def log(dir, name = "service.log")
    path = File.join(dir, name)
    File.exist?(path) ? File.read(path) : ""
  end

  context "on this machine" do
    before(:all) do
      reason = JRestartSpec::OrderlyHook.skip_reason
      skip reason if reason

      @classes = JRestartSpec::OrderlyHook.compile(Dir.mktmpdir("jrestart-stop-table-hook"))
    end

    after(:all) { FileUtils.rm_rf(@classes) if @classes }

    def service_env(port, dir)
      { "DEMO_PORT" => port.to_s, "DEMO_RUN_DIR" => dir, "ORDERLY_HOOK_CLASSES" => @classes, "ORDERLY_DRAIN" => "1" }
    end

    context "in a container, restart! in place" do
      before(:all) do
        missing = %w[unshare tini].reject { |program| system("command -v #{program} >/dev/null") }
        skip "#{missing.join(", ")} missing (apt-get install util-linux tini)" if missing.any? && !ENV["CI"]
        skip "unshare --pid needs root" unless Process.uid.zero?
      end

      { pid1: [[], 1], tini: [%w[tini --], 2] }.each do |row, (init, jvm_pid)|
        it "#{mechanisms[row]}: every cell yes, completed, 100 bytes, 0 refused; same pid" do
          Dir.mktmpdir("jrestart-stop-table") do |dir|
            port = JRestartSpec::Loopback.free_port
            launch = JRestart.launch("unshare", "--pid", "--fork", "--mount-proc", *init,
                                     *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), service_script,
                                     env: service_env(port, dir), log: File.join(dir, "service.log"))
            begin
              expect(wait_for_generation(port, 0)).to eq([jvm_pid, 0]), log(dir)
              cells, fresh = restart_observed(row, port, jvm_pid, read_in(dir), observed, notes)
              expect(fresh).to eq([jvm_pid, 1])
              expect_in_place(cells, log(dir))
              expect(JSON.parse(JRestartSpec::Loopback.ask(port, "record")))
                .to include("mechanism" => "in_place", "previous_pid" => jvm_pid, "still_running" => [])
              expect(log(dir)).not_to include("NullPointerException")
            ensure
              kill_all(children_of(launch.pid))
              kill_and_reap(launch.pid) unless launch.exited?
            end
          end
        end
      end
    end

    it "#{mechanisms[:init_script]}: at_exit, hooks, the request and the bytes; refused connects reported" do
      skip "start-stop-daemon missing" unless system("command -v start-stop-daemon >/dev/null") || ENV["CI"]

      Dir.mktmpdir("jrestart-stop-table") do |dir|
        port = JRestartSpec::Loopback.free_port
        jruby, *options = JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START)
        env = service_env(port, dir).merge("DEMO_JRUBY" => jruby, "DEMO_JRUBY_OPTS" => options.join(" "),
                                           "DEMO_SERVICE" => service_script)
        script = JRestartSpec::Supervised::INIT_SCRIPT
        begin
          expect(JRestart.launch(script, "start", env: env).wait(60)).to be_success
          pid, = wait_for_generation(port, 0)
          cells, (new_pid, _) = restart_observed(:init_script, port, pid, read_in(dir), observed, notes)
          expect(new_pid).not_to eq(pid)
          expect_orderly_command(cells)
          expect(log(dir, "demo-service.out")).not_to include("NullPointerException")
        ensure
          expect(JRestart.launch(script, "stop", env: env).wait(60)).to be_success
        end
      end
    end
  end

  # One container for both systemd rows; its Java 17 runs only the JRuby 9.4 leg.
  context "under a real systemd (nspawn)" do
    before(:all) do
      reason = JRestartSpec::Nspawn.skip_reason || JRestartSpec::OrderlyHook.skip_reason
      skip reason if reason

      @logs = Dir.mktmpdir("jrestart-stop-table-systemd")
      JRestartSpec::Nspawn.ensure_rootfs
      @container = JRestartSpec::Nspawn.new(@logs).boot
      @classes = "/var/lib/orderly-classes"
      @container.run!("install", "-d", @classes)
      JRestartSpec::OrderlyHook.compile(@container.path(@classes))
    end

    after(:all) { JRestartSpec::Nspawn.finish(@container, @logs) }

    # Starts the service as unit name (user: its User=); yields [port, run dir inside, the first pid].
    def unit(name, user: nil)
      port = JRestartSpec::Loopback.free_port
      dir = "/var/lib/jrestart-spec/#{name}"
      @container.run!("install", "-d", *(user ? ["-o", user] : []), dir)
      environment = { "DEMO_PORT" => port, "DEMO_RUN_DIR" => dir, "ORDERLY_HOOK_CLASSES" => @classes,
                      "ORDERLY_DRAIN" => 1, "JRESTART_LIMIT" => "off" }
      @container.install_unit("#{name}.service", <<~UNIT)
        [Unit]
        StartLimitIntervalSec=0

        [Service]
        ExecStart=#{(@container.jruby_command + [service_script]).join(" ")}
        #{environment.map { |k, v| %(Environment="#{k}=#{v}") }.join("\n")}
        #{"User=#{user}" if user}
        TimeoutStopSec=42
        SuccessExitStatus=143
      UNIT
      @container.systemctl("start", "#{name}.service")
      begin
        pid, = wait_for_generation(port, 0)
        expect(pid).to eq(Integer(@container.show("#{name}.service", "MainPID")["MainPID"]))
        # The stop timeout's default is the unit's own TimeoutStopSec.
        expect(JRestartSpec::Loopback.ask(port, "stop-timeout")).to eq("42.0")
        yield port, dir, pid
      ensure
        @container.run("systemctl", "stop", "#{name}.service")
      end
    end

    def read_inside(dir)
      lambda do |name|
        path = @container.path("#{dir}/#{name}.0")
        File.exist?(path) ? File.read(path) : nil
      end
    end

    it "#{mechanisms[:user_unit]}: every cell yes, completed, 100 bytes, 0 refused; the same MainPID" do
      unit("jrestart-table-user", user: JRestartSpec::Nspawn::USER) do |port, dir, pid|
        cells, fresh = restart_observed(:user_unit, port, pid, read_inside(dir), observed, notes)
        expect(fresh).to eq([pid, 1])
        expect_in_place(cells, @container.journal("jrestart-table-user.service"))
        expect(@container.show("jrestart-table-user.service", "MainPID", "ActiveState"))
          .to eq("MainPID" => pid.to_s, "ActiveState" => "active")
        expect(@container.journal("jrestart-table-user.service")).not_to include("NullPointerException")
      end
    end

    it "#{mechanisms[:root_unit]}: at_exit, hooks, the request and the bytes; refused connects reported" do
      unit("jrestart-table-root") do |port, dir, pid|
        cells, (new_pid, _) = restart_observed(:root_unit, port, pid, read_inside(dir), observed, notes)
        expect(new_pid).not_to eq(pid)
        expect(@container.show("jrestart-table-root.service", "MainPID")).to eq("MainPID" => new_pid.to_s)
        expect_orderly_command(cells)
        expect(@container.journal("jrestart-table-root.service")).not_to include("NullPointerException")
      end
    end
  end
end
