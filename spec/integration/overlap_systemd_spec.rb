# frozen_string_literal: true

require "json"
require "tmpdir"
require_relative "../support/nspawn"
require_relative "../support/overlap_client"
require_relative "../support/supervised"

# Issue 19 under a real systemd 252 (systemd-nspawn): a Type=notify unit
# (root, and User=) whose JRuby service restarts with restart!(overlap: true)
# while a client on the host requests every 10 ms. The unit stays active,
# MainPID becomes the new JVM, no restart is counted, and a later
# `systemctl stop` stops the new JVM in order. systemd waits on the unit's
# stop only for a main process that is its own child, so the new JVM is
# started through setsid -f and adopted by systemd before MAINPID= is sent.
#
# Only on JRuby 9.4 (the container's Java is 17).
RSpec.describe "an overlap restart under a real systemd (systemd-nspawn)", :systemd do
  include JRestartSpec::OverlapClient
  OVERLAP_UNIT_SCRIPT = File.expand_path("../support/overlap_service.rb", __dir__)

  before(:all) do
    reason = JRestartSpec::Nspawn.skip_reason
    skip reason if reason

    @logs = Dir.mktmpdir("jrestart-overlap-systemd")
    JRestartSpec::Nspawn.ensure_rootfs
    @container = JRestartSpec::Nspawn.new(@logs).boot
  end

  after(:all) { JRestartSpec::Nspawn.finish(@container, @logs) }

  # Starts the overlap service as a system unit (User= user, if given); type: its Type=. Returns [unit, MainPID].
  def start_unit(name, user: nil, type: "notify")
    unit = JRestartSpec::Nspawn::Unit.new(name, JRestartSpec::Loopback.free_port, "/var/lib/jrestart-spec/#{name}", nil)
    @container.run!("install", "-d", *(user ? ["-o", user] : []), unit.run_dir)
    @events = @container.path("#{unit.run_dir}/events.log")
    @container.install_unit(unit.service, <<~UNIT)
      [Unit]
      Description=jrestart overlap spec service #{name}
      StartLimitIntervalSec=0

      [Service]
      Type=#{type}
      #{"NotifyAccess=main" if type == "notify"}
      ExecStart=#{(@container.jruby_command + [OVERLAP_UNIT_SCRIPT]).join(" ")}
      Environment="DEMO_PORT=#{unit.port}" "OVERLAP_LOG=#{unit.run_dir}/events.log" "JRESTART_LIMIT=off"
      #{"User=#{user}" if user}
      # A JVM ends with 143 on SIGTERM: a stop, not a failure.
      SuccessExitStatus=143
    UNIT
    @container.systemctl("start", unit.service)
    main = wait_until(timeout: 120, interval: 0.2, message: "#{unit.service} to answer") do
      answer = request(unit.port)
      state = show(unit)
      raise "#{unit.service} failed:\n#{journal(unit)}" if state["ActiveState"] == "failed"

      answer[1] if answer.is_a?(Array) && state["ActiveState"] == "active" && state["MainPID"] == answer[1].to_s
    end
    [unit, main]
  end

  def show(unit)
    @container.show(unit.service, "MainPID", "ActiveState", "SubState", "Result", "NRestarts")
  end

  def journal(unit)
    @container.journal(unit.service)
  end

  def events
    File.exist?(@events) ? File.readlines(@events, chomp: true) : []
  end

  def inside_alive?(pid)
    @container.run("kill", "-0", pid.to_s).last.success?
  end

  # The whole story for one unit: the overlap under load, the unit's state after it, and its stop.
  def overlap_and_stop(name, user: nil)
    unit, old_pid = start_unit(name, user: user)
    plan = JSON.parse(body(unit.port, "/plan"))
    expect(plan["overlap"]).to start_with("systemd unit #{unit.service} (Type=notify, NotifyAccess=main)")

    run = overlap_under_load(unit.port, old_pid) { |fresh| show(unit)["MainPID"] == fresh.to_s && !inside_alive?(old_pid) }
    fresh = run[:fresh]
    report(overlap_report("systemd #{user ? "User=#{user}" : "root"} unit", run))
    expect(run[:failed]).to be_empty
    expect(run[:slow]).to match([:ok, old_pid, be > 1.5])
    expect(run[:worst]).to be < run[:took] / 3
    expect(show(unit)).to include("MainPID" => fresh.to_s, "ActiveState" => "active", "SubState" => "running",
                                  "NRestarts" => "0")
    expect(journal(unit)).not_to include("not our child")
    expect(events).to include("#{fresh} ready told=true again=false", "#{old_pid} drained", "#{old_pid} at_exit")

    stopped_at = now
    @container.systemctl("stop", unit.service)
    report("systemctl stop after the overlap: #{(now - stopped_at).round(2)} s, #{show(unit)}")
    expect(show(unit)).to include("ActiveState" => "inactive", "Result" => "success")
    # Its orderly stop ran: the new JVM's at_exit handler, not a SIGKILL.
    expect(events).to include("#{fresh} at_exit")
    expect(inside_alive?(fresh)).to be(false)
  ensure
    @container.run("systemctl", "stop", unit.service) if unit
  end

  it "a root Type=notify unit: 0 refused, MainPID the new JVM, no restart counted, and systemctl stop stops it" do
    overlap_and_stop("jrestart-overlap-root")
  end

  it "a Type=notify unit with User=#{JRestartSpec::Nspawn::USER}: the same" do
    overlap_and_stop("jrestart-overlap-user", user: JRestartSpec::Nspawn::USER)
  end

  it "a new JVM that fails at boot leaves the unit active on the old one, and restart! raises with its output" do
    unit, old_pid = start_unit("jrestart-overlap-fail")
    prober = JRestartSpec::Prober.new { request(unit.port) }
    sleep 0.3
    reply = body(unit.port, "/restart-now?fail=1")
    sleep 0.5
    results = prober.stop
    report("overlap under systemd, new JVM failing: #{results.size} requests, " \
           "#{results.count { |r| !r.is_a?(Array) }} not answered; #{reply}")
    expect(reply).to match(/\Araised JRestart::Error: the new JVM \(pid \d+\) exited before it was ready: exited \(systemd, which adopted it, has its exit status: journalctl\); this JVM goes on serving as before\. The end of its output:\\n.*the configuration is broken \(OVERLAP_FAIL=1\)/)
    expect(results.reject { |r| r.is_a?(Array) }).to be_empty
    expect(show(unit)).to include("MainPID" => old_pid.to_s, "ActiveState" => "active", "NRestarts" => "0")
  ensure
    @container.run("systemctl", "stop", unit.service) if unit
  end

  it "a unit that is not Type=notify is refused before anything starts, naming what to set" do
    unit, old_pid = start_unit("jrestart-overlap-simple", type: "simple")
    refusal = "raised JRestart::Error: overlap restart refused: systemd takes the new JVM as #{unit.service}'s main " \
              "process only from a Type=notify unit's main process (MAINPID=); set Type=notify (it is Type=simple; " \
              "NotifyAccess is then main unless set otherwise) " \
              "in its [Service] section, and call JRestart.ready! once the service is up (it sends READY=1)"
    expect(body(unit.port, "/plan")).to eq(refusal)
    expect(body(unit.port, "/restart-now")).to eq(refusal)
    expect(events.grep(/ listening /).size).to eq(1)
    expect(show(unit)).to include("MainPID" => old_pid.to_s, "ActiveState" => "active")
  ensure
    @container.run("systemctl", "stop", unit.service) if unit
  end
end
