# frozen_string_literal: true

require "json"
require "time"
require "tmpdir"
require_relative "../support/supervised"

# The restart record (issue 12): the old JVM writes why and how it asked for
# the restart; the new JVM reads it as JRestart.last_restart. Only the JVM the
# restart started gets it: a later JVM of the same service gets nil.
RSpec.describe "JRestart.last_restart" do
  # The block's value once it is truthy, polling for up to timeout seconds; else the last value.
  def eventually(timeout: 15)
    deadline = now + timeout
    loop do
      value = yield
      return value if value || now > deadline

      sleep 0.1
    end
  end

  it "across a real restart under runit: the new JVM reads the old one's record, a crash restart reads nil" do
    skip "runsv is not installed (apt-get install runit); CI installs it" unless system("command -v runsv >/dev/null") || ENV["CI"]

    Dir.mktmpdir("jrestart-record") do |dir|
      supervised = JRestartSpec::Supervised.create("runit", dir, JRestartSpec::Loopback.free_port)
      service_dir = File.join(dir, "service", "demo")
      begin
        expect(supervised.start).to be_truthy
        old_pid = supervised.answering_pid
        expect(old_pid).to be_a(Integer)
        expect(supervised.record).to be_nil

        asked = Time.now
        round = supervised.restart(old_pid, reason: "config changed")
        expect(round[:error]).to be_nil
        record = supervised.record
        expect(record).to include("previous_pid" => old_pid, "reason" => "config changed", "mechanism" => "spawn",
                                  "command" => ["sv", "restart", service_dir])
        expect(record["requested_at"]).to be_between(asked - 1, Time.now)
        expect(record["elapsed"]).to be > 0
        expect(record["elapsed"]).to be < 60
        # sv restart returns once runit has started the new JVM: its status may come a little later.
        status = eventually { supervised.record["command_status"] }
        expect(status).to eq(0)
        RSpec.configuration.reporter.message("\n  the record under runit: #{supervised.record}")

        # runit restarts a JVM that was killed: no restart! asked for that one.
        Process.kill(:KILL, round[:new_pid])
        crashed_into = supervised.answering_pid(other_than: round[:new_pid])
        expect(crashed_into).to be_a(Integer)
        expect(supervised.record).to be_nil

        # A later restart replaces the record.
        again = supervised.restart(crashed_into, reason: "second")
        expect(again[:error]).to be_nil
        expect(supervised.record).to include("previous_pid" => crashed_into, "reason" => "second")
      ensure
        expect(supervised.stop).to be(true)
      end
    end
  end

  it "across an in-place restart (the JVM as PID 1 of a pid namespace): mechanism in_place, the same pid" do
    skip "unshare --pid needs root" unless Process.uid.zero?

    Dir.mktmpdir("jrestart-record-container") do |dir|
      state = File.join(dir, "state")
      Dir.mkdir(state, 0o700)
      port = JRestartSpec::Loopback.free_port
      service = File.expand_path("../support/restartable_service.rb", __dir__)
      argv = ["unshare", "--pid", "--fork", "--mount-proc",
              *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), service]
      unshare = JRestart.launch(*argv, env: { "DEMO_PORT" => port.to_s, "DEMO_RUN_DIR" => dir, "STATE_DIRECTORY" => state },
                                       log: File.join(dir, "service.log"))
      ask = ->(line) { JRestartSpec::Loopback.ask(port, line) }
      info = -> { ask.("info")&.then { |answer| JSON.parse(answer) } }
      begin
        old = eventually(timeout: 60) { info.() }
        expect(old).not_to be_nil, "the service never answered:\n#{File.read(File.join(dir, "service.log"))}"
        expect(JSON.parse(ask.("record"))).to be_nil

        asked = Time.now
        expect(ask.("restart config changed").to_s).to start_with("restarting in-place")
        fresh = eventually(timeout: 60) { info.()&.then { |answer| answer if answer["jvm"] != old["jvm"] } }
        expect(fresh).not_to be_nil, "no new JVM answered"
        record = JSON.parse(ask.("record"))
        expect(record).to include("previous_pid" => old["pid"], "reason" => "config changed", "mechanism" => "in_place",
                                  "command_status" => 0)
        expect(fresh["pid"]).to eq(old["pid"])
        expect(Time.iso8601(record["requested_at"])).to be_between(asked - 1, Time.now)
        expect(record["elapsed"]).to be > 0
        expect(record["elapsed"]).to be < 60
        RSpec.configuration.reporter.message("\n  the record in place: #{record}")
      ensure
        kill_all(children_of(unshare.pid))
        expect(unshare.wait(30)).not_to be_nil
      end
    end
  end

  # Issue 17 item 10: the record and the guard's count of an exec in place are
  # written when the exec happens. A JVM killed during the delay never exec'd:
  # the next ordinary start of the same service must not take that restart for
  # its own (in a pid namespace it is PID 1 again, as the old one was).
  it "an in-place restart whose JVM is killed during its delay leaves no record and no count behind" do
    skip "unshare --pid needs root" unless Process.uid.zero?

    Dir.mktmpdir("jrestart-record-phantom") do |dir|
      state = File.join(dir, "state")
      Dir.mkdir(state, 0o700)
      port = JRestartSpec::Loopback.free_port
      service = File.expand_path("../support/restartable_service.rb", __dir__)
      argv = ["unshare", "--pid", "--fork", "--mount-proc",
              *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), service]
      # The guard on (the suite turns it off), to see what it counts.
      env = { "DEMO_PORT" => port.to_s, "DEMO_RUN_DIR" => dir, "STATE_DIRECTORY" => state, "JRESTART_LIMIT" => nil }
      start = -> { JRestart.launch(*argv, env: env, log: File.join(dir, "service.log")) }
      ask = ->(line) { JRestartSpec::Loopback.ask(port, line) }
      info = -> { ask.("info")&.then { |answer| JSON.parse(answer) } }
      stop = lambda do |unshare|
        kill_all(children_of(unshare.pid))
        expect(unshare.wait(30)).not_to be_nil
      end

      first = start.()
      begin
        old = eventually(timeout: 60) { info.() }
        expect(old).not_to be_nil, "the service never answered:\n#{File.read(File.join(dir, "service.log"))}"
        expect(old["pid"]).to eq(1)
        expect(ask.("restart-in 30")).to eq("restarting in-place")
      ensure
        # The JVM dies in the delay, before its exec: no restart happened.
        stop.(first)
      end
      counted = Dir.glob(File.join(state, "*.restarts")).flat_map { |file| File.readlines(file).grep(/\A\d+\n\z/) }
      expect(counted).to eq([]), "the guard counted an exec that never happened"

      second = start.()
      begin
        fresh = eventually(timeout: 60) { info.()&.then { |answer| answer if answer["jvm"] != old["jvm"] } }
        expect(fresh).not_to be_nil, "the service never answered again"
        expect(fresh["pid"]).to eq(1)
        expect(JSON.parse(ask.("record"))).to be_nil
      ensure
        stop.(second)
      end
    end
  end
end
