# frozen_string_literal: true

require "fileutils"
require "json"
require "timeout"
require "tmpdir"
require_relative "../support/nspawn"
require_relative "../support/supervised"

# restart! from JRuby services run by a real systemd 252 (issue 11): one
# container, booted with systemd-nspawn, for the whole file. Each case runs
# spec/support/restartable_service.rb as a unit and restarts it ROUNDS times:
# ask it to restart over TCP, then wait for a NEW MainPID that answers on the
# port. Each case has a control showing what fails without jrestart's
# mechanism; examples still waiting for a mechanism are pending, so that they
# report a failure the day they pass.
#
# Only on JRuby 9.4 (the CI leg with Java 17): the container's Java is 17,
# which JRuby 10 does not run on.
RSpec.describe "restart! under a real systemd (systemd-nspawn)", :systemd do
  def rounds
    Integer(ENV.fetch("ROUNDS", "10"))
  end

  def script
    File.expand_path("../support/restartable_service.rb", __dir__)
  end

  before(:all) do
    reason = JRestartSpec::Nspawn.skip_reason
    skip reason if reason

    @logs = Dir.mktmpdir("jrestart-systemd")
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    JRestartSpec::Nspawn.ensure_rootfs
    rootfs_seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    @container = JRestartSpec::Nspawn.new(@logs).boot
    report(format("container: rootfs ready in %.1f s, booted in %.1f s, %s",
                  rootfs_seconds, @container.boot_seconds, @container.state_report))
  end

  after(:all) { JRestartSpec::Nspawn.finish(@container, @logs) }

  # Starts spec/support/restartable_service.rb as unit name of the system
  # manager, or of manager_user's systemd --user; user: the unit's User=.
  # start_limit: the [Unit] start limit lines; by default none (StartLimitIntervalSec=0).
  # notify: Type=notify, NotifyAccess=main (the service sends READY=1 through JRestart.notify).
  # service_lines: more [Service] settings, one a line.
  def start_unit(name, manager_user: nil, user: nil, start_limit: "StartLimitIntervalSec=0", env: {}, notify: false,
                 service_lines: [])
    unit = JRestartSpec::Nspawn::Unit.new(name, JRestartSpec::Loopback.free_port, "/var/lib/jrestart-spec/#{name}", manager_user)
    owner = manager_user || user
    @container.run!("install", "-d", *(owner ? ["-o", owner] : []), unit.run_dir)
    # Ten restarts in a row are what these examples do: the restart-loop guard would refuse the sixth.
    environment = { "DEMO_PORT" => unit.port, "DEMO_RUN_DIR" => unit.run_dir, "JRESTART_LIMIT" => "off" }.merge(env)
    @container.install_unit(unit.service, <<~UNIT, user: manager_user)
      [Unit]
      Description=jrestart spec service #{name}
      #{start_limit}

      [Service]
      ExecStart=#{(@container.jruby_command + [script]).join(" ")}
      #{environment.map { |k, v| %(Environment="#{k}=#{v}") }.join("\n")}
      #{"User=#{user}" if user}
      #{"Type=notify\nNotifyAccess=main" if notify}
      #{service_lines.join("\n")}
      # A JVM ends with 143 on SIGTERM: a stop, not a failure.
      SuccessExitStatus=143
    UNIT
    @container.systemctl("start", unit.service, user: manager_user)
    @pid = wait_for_main_pid(unit, nil)
    expect(@pid).to be_a(Integer), "#{unit.service} never answered:\n#{diagnostics(unit)}"
    unit
  end

  def stop_unit(unit)
    return unless unit && @container

    @container.run("systemctl", *(unit.manager_user ? ["--user"] : []), "stop", unit.service, user: unit.manager_user)
  end

  def show(unit)
    @container.show(unit.service, "MainPID", "ActiveState", "SubState", "Result", "NRestarts", user: unit.manager_user)
  end

  def restart_log(unit)
    File.read(@container.path("#{unit.run_dir}/restart.log"))
  rescue Errno::ENOENT
    ""
  end

  def diagnostics(unit)
    "#{show(unit)}\n--- restart.log\n#{restart_log(unit)}\n--- journal\n" \
      "#{@container.journal(unit.service, user: unit.manager_user)}"
  end

  # The pid that answers on the unit's port once it is systemd's MainPID of
  # an active unit and not old_pid; or a String saying why none will come.
  # restart_pid: the restart command (a pid inside), whose end with the unit
  # down for good means nothing will start it again.
  def wait_for_main_pid(unit, old_pid, restart_pid: nil, timeout: 60)
    deadline = now + timeout
    down_since = nil
    while now < deadline
      answer = JRestartSpec::Loopback.ask(unit.port, "pid")
      state = show(unit)
      pid = Integer(answer) if answer =~ /\A\d+\z/
      return pid if pid && pid != old_pid && state["MainPID"] == pid.to_s && state["ActiveState"] == "active"
      return "#{unit.service} failed: Result=#{state["Result"]}" if state["ActiveState"] == "failed"
      return "the restart command failed: #{restart_log(unit).strip}" if restart_log(unit) =~ /denied|failed/i

      down = state["ActiveState"] == "inactive" && restart_pid && !@container.run("kill", "-0", restart_pid.to_s).last.success?
      down_since = down ? down_since || now : nil
      return "#{unit.service} stayed inactive after its restart command (pid #{restart_pid}) ended" if down && now - down_since > 5

      sleep 0.1
    end
    "no new MainPID answered within #{timeout}s"
  end

  # One round: "restart" over TCP, then a new MainPID answering.
  def restart_round(unit)
    asked = now
    reply = JRestartSpec::Loopback.ask(unit.port, "restart").to_s
    _, restart_pid, via, inherited = reply.match(JRestartSpec::Supervised::RESTARTING).to_a
    return { error: "the service answered #{reply.inspect} to restart" } unless restart_pid

    new_pid = wait_for_main_pid(unit, @pid, restart_pid: Integer(restart_pid))
    return { error: new_pid } unless new_pid.is_a?(Integer)

    { via: via, inherited: inherited, new_pid: new_pid, seconds: now - asked }
  end

  # count rounds in a row; reports the median time from request to the new
  # JVM answering. via: where the command must come from, if known.
  def restart_rounds(unit, label, count: rounds, via: nil, inherited: %w[none])
    started = now
    seconds = []
    count.times do |i|
      round = restart_round(unit)
      expect(round[:error]).to be_nil, "round #{i + 1}: #{round[:error]}\n#{diagnostics(unit)}"
      expect(round[:via]).to eq(via) if via
      expect(inherited).to include(round[:inherited])
      @pid = round[:new_pid]
      seconds << round[:seconds]
    end
    report(format("%s: %d/%d restarts in %.0f s, request to new MainPID answering: median %.2f s, max %.2f s",
                  label, seconds.size, count, now - started, seconds.sort[seconds.size / 2], seconds.max))
    seconds
  end

  # What JRestart.plan says restart! with no command would do, inside the service.
  def plan_of(unit, label)
    plan = JSON.parse(JRestartSpec::Loopback.ask(unit.port, "plan").to_s)
    report("#{label}: JRestart.plan inside the service: #{plan}")
    plan
  end

  describe "a root system unit" do
    it "StartLimitIntervalSec=0: restart! with no command restarts it, each round a new MainPID answering" do
      unit = start_unit("jrestart-root")
      expect(plan_of(unit, "root unit")).to include(
        "source" => "detected", "manager" => "systemd", "service" => "jrestart-root.service",
        "command" => %w[systemctl --no-block restart jrestart-root.service]
      )
      restart_rounds(unit, "root unit", via: "detected:systemd")
    ensure
      stop_unit(unit)
    end
  end

  describe "a root system unit restarted without a delay" do
    # The issue's own case: the detected `systemctl --no-block restart` is
    # often still in the unit's cgroup when the restart job's stop kills it.
    it "restart! returns once systemctl has queued the job (or died with the stop), and the unit restarts, 3 rounds" do
      unit = start_unit("jrestart-now")
      3.times do |i|
        %w[outcome stopped].each { |file| FileUtils.rm_f(@container.path("#{unit.run_dir}/#{file}")) }
        JRestartSpec::Loopback.ask(unit.port, "restart-now-outcome")
        new_pid = wait_for_main_pid(unit, @pid)
        expect(new_pid).to be_a(Integer), "round #{i + 1}: #{new_pid}\n#{diagnostics(unit)}"
        outcome = File.read(@container.path("#{unit.run_dir}/outcome"))
        stopped = File.read(@container.path("#{unit.run_dir}/stopped"))
        report("round #{i + 1}, detected systemctl --no-block without delay: #{outcome}, #{stopped}")
        expect(outcome).to match(/\Arestarting \d+ returned=/)
        # Returned when systemctl exited or was killed by the stop, not when the 2 s watch ran out.
        expect(Float(outcome[/returned=(\S+)/, 1])).to be < 2.0
        @pid = new_pid
      end
    ensure
      stop_unit(unit)
    end
  end

  # systemd's default burst (5 starts) over 60 s instead of the default 10 s:
  # a JVM-paced restart takes 2.5 s on an idle machine, where the default 10 s
  # is hit, but 5 s under load, where it is not. Over 60 s the 6th start is
  # refused either way, so the control always fails and the guard must read
  # the unit's own limit.
  describe "a root unit with a start limit (StartLimitBurst=5 in 60 s)" do
    def self.quick_restarts
      7
    end

    def quick_restarts
      self.class.quick_restarts
    end

    def start_limit
      "StartLimitIntervalSec=60"
    end

    it "control: #{quick_restarts} quick `systemctl restart`s hit the limit and leave it failed" do
      unit = start_unit("jrestart-limit-control", start_limit: start_limit)
      outcomes = quick_restarts.times.map do
        @container.run("systemctl", "--no-block", "restart", unit.service)
        outcome = wait_for_main_pid(unit, @pid)
        break outcome unless outcome.is_a?(Integer)

        @pid = outcome
      end
      expect(outcomes).to eq("#{unit.service} failed: Result=start-limit-hit")
      expect(@container.journal(unit.service)).to include("Start request repeated too quickly")
    ensure
      stop_unit(unit)
      @container&.run("systemctl", "reset-failed", "jrestart-limit-control.service")
    end

    it "#{quick_restarts} quick restart!s: the service is up at the end, any refusal explained" do
      unit = start_unit("jrestart-limit", start_limit: start_limit)
      plan_of(unit, "start-limited unit")
      refusals = []
      restarts = 0
      quick_restarts.times do |i|
        reply = JRestartSpec::Loopback.ask(unit.port, "restart").to_s
        if reply.start_with?("error ")
          # A refusal must say it is the start limit, and leave the service serving.
          expect(reply).to match(/start limit|StartLimit/i), "request #{i + 1}: #{reply}"
          refusals << reply
          break
        end
        restart_pid = reply[JRestartSpec::Supervised::RESTARTING, 1]
        expect(restart_pid).not_to be_nil, "request #{i + 1}: #{reply}"
        outcome = wait_for_main_pid(unit, @pid, restart_pid: Integer(restart_pid))
        expect(outcome).to be_a(Integer), "restart #{i + 1}: #{outcome}\n#{diagnostics(unit)}"
        @pid = outcome
        restarts += 1
      end
      expect(show(unit)).to include("ActiveState" => "active", "MainPID" => @pid.to_s)
      expect(JRestartSpec::Loopback.ask(unit.port, "pid")).to eq(@pid.to_s)
      # The initial start and 4 restarts make StartLimitBurst=5: the 5th restart! is the one refused.
      expect([restarts, refusals.size]).to eq([4, 1])
      report("start-limited unit: #{restarts} restarts, refusals: #{refusals.empty? ? "none" : refusals.join(" | ")}")
    ensure
      stop_unit(unit)
      @container&.run("systemctl", "reset-failed", "jrestart-limit.service")
    end
  end

  # The restart-loop guard and the record need a directory that outlives the
  # JVM, and the unit: StateDirectory= gives it ($STATE_DIRECTORY), while
  # PrivateTmp= empties /var/tmp, the last fallback, at every stop.
  describe "a root unit with StateDirectory= and PrivateTmp=yes, the guard at 2 in 900 s" do
    # PrivateTmp= hides the host's /tmp, where a CI clone of this project may be: bind it back for the JVM.
    def private_tmp
      ["PrivateTmp=yes", "BindReadOnlyPaths=#{File.expand_path("../..", __dir__)}"]
    end

    it "keeps the count and the record in $STATE_DIRECTORY: 2 restarts pass, the 3rd is refused, the unit serving" do
      unit = start_unit("jrestart-state", env: { "JRESTART_LIMIT" => "2/900" },
                                          service_lines: ["StateDirectory=jrestart-state", *private_tmp])
      expect(JRestartSpec::Loopback.ask(unit.port, "record")).to eq("null")
      first = @pid
      restart_rounds(unit, "StateDirectory= unit", count: 2, via: "detected:systemd")
      record = JSON.parse(JRestartSpec::Loopback.ask(unit.port, "record"))
      expect(record).to include("mechanism" => "spawn", "command" => %w[systemctl --no-block restart jrestart-state.service])
      # systemctl runs in the unit's cgroup: the stop it queued may SIGTERM it before it exits (143), the job queued.
      expect([0, 143]).to include(record["command_status"]), record.inspect
      expect(record["previous_pid"]).not_to eq(first)
      refusal = JRestartSpec::Loopback.ask(unit.port, "restart")
      expect(refusal).to start_with("error JRestart::RestartLoop: restart refused: systemd service jrestart-state.service" \
                                    " was restarted 2 times within the last 900 s")
      expect(refusal).to include("/var/lib/jrestart-state/")
      sleep 3
      expect(show(unit)).to include("ActiveState" => "active", "MainPID" => @pid.to_s)
      counts = Dir.glob(@container.path("/var/lib/jrestart-state/*.restarts"))
      expect(counts.size).to eq(1)
      expect(File.stat(counts.first).mode & 0o777).to eq(0o600)
      expect(File.readlines(counts.first).grep(/\A\d+\n\z/).size).to eq(2)
      report("StateDirectory= unit: #{refusal}")
    ensure
      stop_unit(unit)
    end

    it "control: without StateDirectory=, the state falls to PrivateTmp='s /var/tmp, which each stop empties, and says so" do
      unit = start_unit("jrestart-privatetmp", env: { "JRESTART_LIMIT" => "2/900" },
                                               service_lines: [*private_tmp, "UnsetEnvironment=HOME"])
      # The count does not outlive the unit's stops: a 3rd restart passes, which is why jrestart warns.
      restart_rounds(unit, "PrivateTmp= unit", count: 3, via: "detected:systemd")
      expect(@container.journal(unit.service)).to include("is this systemd unit's own (PrivateTmp=) and is emptied when" \
                                                          " the unit stops").and include("Give the unit StateDirectory=")
    ensure
      stop_unit(unit)
    end
  end

  describe "a unit with User=#{JRestartSpec::Nspawn::USER}" do
    it "control: as that user, `systemctl --no-block restart` is refused (Access denied, exit 4)" do
      unit = start_unit("jrestart-user-control", user: JRestartSpec::Nspawn::USER)
      out, status = @container.run("systemctl", "--no-block", "restart", unit.service, user: JRestartSpec::Nspawn::USER)
      expect([status.exitstatus, out]).to match([4, /Access denied/])
      expect(show(unit)).to include("MainPID" => @pid.to_s, "ActiveState" => "active")
    ensure
      stop_unit(unit)
    end

    it "restart! with no command restarts it in place: the same MainPID, a new JVM each round, the unit active" do
      unit = start_unit("jrestart-user", user: JRestartSpec::Nspawn::USER)
      expect(plan_of(unit, "User= unit")).to include("source" => "detected", "manager" => "systemd",
                                                      "strategy" => "exec")
      started = now
      seconds = rounds.times.map do |i|
        old = JSON.parse(JRestartSpec::Loopback.ask(unit.port, "info").to_s)
        asked = now
        reply = JRestartSpec::Loopback.ask(unit.port, "restart").to_s
        expect(reply).to start_with("restarting in-place via=detected:systemd"), "round #{i + 1}: #{reply}"
        fresh = nil
        wait_until(timeout: 60, message: "round #{i + 1}: a new JVM in MainPID #{@pid}\n#{diagnostics(unit)}") do
          answer = JRestartSpec::Loopback.ask(unit.port, "info")
          fresh = answer && JSON.parse(answer)
          fresh && fresh["jvm"] != old["jvm"]
        end
        expect(fresh["pid"]).to eq(@pid)
        expect(show(unit)).to include("MainPID" => @pid.to_s, "ActiveState" => "active")
        now - asked
      end
      report(format("User= unit: %d/%d in-place restarts in %.0f s, request to new JVM answering: median %.2f s, " \
                    "max %.2f s", seconds.size, rounds, now - started, seconds.sort[seconds.size / 2], seconds.max))
    ensure
      stop_unit(unit)
    end
  end

  describe "a JRESTART_COMMAND that systemd refuses, under a User=#{JRestartSpec::Nspawn::USER} unit" do
    it "never silent: restart! raises JRestart::Error with systemctl's status and output, the service untouched" do
      name = "jrestart-denied"
      unit = start_unit(name, user: JRestartSpec::Nspawn::USER,
                              env: { "JRESTART_COMMAND" => "systemctl --no-block restart #{name}.service" })
      reply = JRestartSpec::Loopback.ask(unit.port, "restart-now").to_s
      expect(reply).to match(/\Aerror JRestart::Error: the restart command systemctl failed at once \(exit status 4\).*Access denied/)
      # Without log:, systemctl's output comes through the pipe of a manager client.
      bare = JRestartSpec::Loopback.ask(unit.port, "restart-bare").to_s
      expect(bare).to match(/\Aerror JRestart::Error: the restart command systemctl failed at once \(exit status 4\).*Its output: .*Access denied/)
      expect(show(unit)).to include("MainPID" => @pid.to_s, "ActiveState" => "active")
      expect(JRestartSpec::Loopback.ask(unit.port, "pid")).to eq(@pid.to_s)
      report("refused restart command: #{reply}")
    ensure
      stop_unit(unit)
    end
  end

  describe "a root unit whose JRESTART_COMMAND is a blocking `systemctl restart`" do
    # systemctl waits for the restart job, so it is sure to be alive in the
    # unit's cgroup when the job's stop kills that cgroup: killed by SIGTERM,
    # every time, while the unit restarts.
    it "restart! killed with its own unit's stop: returns (or raises without claiming nothing happened), and the unit restarts" do
      name = "jrestart-killed"
      unit = start_unit(name, env: { "JRESTART_COMMAND" => "systemctl restart #{name}.service" })
      JRestartSpec::Loopback.ask(unit.port, "restart-now-outcome")
      new_pid = wait_for_main_pid(unit, @pid)
      expect(new_pid).to be_a(Integer), "#{new_pid}\n#{diagnostics(unit)}"
      outcome = File.read(@container.path("#{unit.run_dir}/outcome"))
      report("restart! whose systemctl died with the unit's stop: #{outcome}")
      expect(outcome).not_to include("left as it was")
      expect(outcome).to match(/\Arestarting \d+ returned=/)
    ensure
      stop_unit(unit)
    end
  end

  describe "a Type=notify unit with User=#{JRestartSpec::Nspawn::USER} (NotifyAccess=main)" do
    it "restart! in place says RELOADING=1 before the exec, and the new JVM's READY=1 makes it active again" do
      unit = start_unit("jrestart-notify", user: JRestartSpec::Nspawn::USER, notify: true)
      expect(plan_of(unit, "Type=notify unit")).to include("strategy" => "exec")
      rounds.times do |i|
        old = JSON.parse(JRestartSpec::Loopback.ask(unit.port, "info").to_s)
        expect(JRestartSpec::Loopback.ask(unit.port, "restart").to_s).to start_with("restarting in-place")
        states = []
        wait_until(timeout: 60, message: "round #{i + 1}: the unit reloading, then active with a new JVM\n" \
                                         "#{diagnostics(unit)}") do
          states << show(unit)["ActiveState"]
          answer = JRestartSpec::Loopback.ask(unit.port, "info")
          fresh = answer && JSON.parse(answer)
          fresh && fresh["jvm"] != old["jvm"] && states.last == "active" && states.include?("reloading")
        end
        expect(show(unit)).to include("MainPID" => @pid.to_s, "ActiveState" => "active")
      end
      report("Type=notify unit: #{rounds}/#{rounds} in-place restarts, each seen reloading, then active")
    ensure
      stop_unit(unit)
    end
  end

  describe "a --user unit under #{JRestartSpec::Nspawn::USER}'s lingering systemd --user" do
    it "restart! with no command detects `systemctl --user` and restarts it, each round a new MainPID answering" do
      @container.linger
      unit = start_unit("jrestart-user-manager", manager_user: JRestartSpec::Nspawn::USER)
      expect(plan_of(unit, "--user unit")).to include(
        "source" => "detected", "manager" => "systemd", "service" => "jrestart-user-manager.service",
        "command" => %w[systemctl --user --no-block restart jrestart-user-manager.service]
      )
      restart_rounds(unit, "--user unit", via: "detected:systemd")
    ensure
      stop_unit(unit)
    end
  end

  describe "a named stop/start command under a root unit" do
    def stop_start(name)
      { "JRESTART_COMMAND" => "/bin/sh -c 'systemctl stop #{name}.service; sleep 1; systemctl start #{name}.service'" }
    end

    it "control: started as a plain detached launch, the command dies with the unit's cgroup and the unit stays down" do
      unit = start_unit("jrestart-named-control", env: stop_start("jrestart-named-control"))
      command_pid = Integer(JRestartSpec::Loopback.ask(unit.port, "launch-env-command"))
      wait_until(timeout: 30, message: "the unit to stop") { show(unit)["ActiveState"] != "active" }
      # The command would have started the unit again one second after the
      # stop; watch well past that for it ever coming back.
      deadline = now + 6
      states = []
      while now < deadline
        states << show(unit)["ActiveState"]
        sleep 0.2
      end
      expect(states.uniq - %w[deactivating inactive failed]).to eq([])
      expect(JRestartSpec::Loopback.ask(unit.port, "pid")).to be_nil
      expect(@container.run("kill", "-0", command_pid.to_s).last).not_to be_success
    ensure
      stop_unit(unit)
    end

    it "restart! runs JRESTART_COMMAND out of the unit's cgroup: each round a new MainPID answering" do
      unit = start_unit("jrestart-named", env: stop_start("jrestart-named"))
      expect(plan_of(unit, "named command")).to include("source" => "environment")
      expect(plan_of(unit, "named command")["command"].first(3)).to eq(%w[systemd-run --no-block --collect])
      # systemd-run is gone by the time the service looks: its descriptors cannot be seen.
      restart_rounds(unit, "named stop/start command", via: "environment", inherited: %w[none exited])
    ensure
      stop_unit(unit)
    end
  end

  # Issue 17 items 7 and 9: a JVM that a unit's main process (a shell) started
  # lives in the unit's cgroup but is not the unit's service (a build a CI
  # unit runs, a cron job): restart! there must not restart the unit, nor exec
  # that JVM in place. A named command is the caller's choice, and is checked
  # before systemd-run is given it.
  describe "a JVM that a unit's shell started, not the unit's main process" do
    def start_child_unit(name, user: nil, named: false)
      run_dir = "/var/lib/jrestart-spec/#{name}"
      @container.run!("install", "-d", *(user ? ["-o", user] : []), run_dir)
      probe = File.expand_path("../support/unit_child_probe.rb", __dir__)
      argv = @container.jruby_command + [probe, "#{run_dir}/probe.json", *("named" if named)]
      @container.install_unit("#{name}.service", <<~UNIT)
        [Service]
        ExecStart=/bin/sh -c '#{argv.join(" ")}; exec sleep infinity'
        Environment=JRESTART_LIMIT=off
        #{"User=#{user}" if user}
      UNIT
      @container.systemctl("start", "#{name}.service")
      "#{name}.service"
    end

    def probe_of(unit)
      path = @container.path("/var/lib/jrestart-spec/#{unit.sub(/\.service\z/, "")}/probe.json")
      wait_until(timeout: 120, message: "the probe of #{unit}") { File.exist?(path) }
      JSON.parse(File.read(path))
    end

    def refused_as_not_main(result, pid, unit, main_pid)
      expect(result["error"]).to eq("JRestart::Error"), result.inspect
      expect(result["message"]).to include("this JVM (pid #{pid})")
      expect(result["message"]).to match(/runs in the cgroup of #{Regexp.escape(unit)} but is not its main process \(MainPID=#{main_pid}, sh\)/)
      expect(result["message"]).to include("JRestart.command = %w[systemctl --no-block restart #{unit}]")
    end

    it "restart! with no command refuses, naming the unit and its MainPID (root: no systemctl restart; User=: no exec in place)" do
      root = start_child_unit("jrestart-child-root")
      user = start_child_unit("jrestart-child-user", user: JRestartSpec::Nspawn::USER)
      [root, user].each do |unit|
        main_pid = @container.show(unit, "MainPID")["MainPID"]
        result = probe_of(unit)
        expect(result["pid"].to_s).not_to eq(main_pid)
        refused_as_not_main(result["detected"], result["pid"], unit, main_pid)
        expect(@container.show(unit, "MainPID")["MainPID"]).to eq(main_pid)
      end
    ensure
      [root, user].compact.each { |unit| @container.run("systemctl", "stop", unit) }
    end

    it "a named command is checked itself, not only systemd-run: bad ones refused, keep: refused, env: nil honoured" do
      unit = start_child_unit("jrestart-child-named", named: true)
      result = probe_of(unit)
      expect(result["nonexistent"]).to include("error" => "Errno::ENOENT")
      expect(result["nonexistent"]["message"]).to include("/nonexistent/restart-it")
      expect(result["relative"]).to include("error" => "ArgumentError")
      expect(result["relative"]["message"]).to match(%r{command bin/restart-it is a relative path})
      expect(result["chdir"]).to include("error" => "Errno::ENOENT")
      expect(result["chdir"]["message"]).to include("chdir /nonexistent")
      expect(result["keep"]).to include("error" => "ArgumentError")
      expect(result["keep"]["message"]).to include("keep: cannot reach a command that systemd-run starts")
      expect(result["delay"]).to include("error" => "ArgumentError")
      expect(result["delay"]["message"]).to include("at most 86400 seconds")
      # What systemd-run is given: the command found in PATH, env: and the delay for the transient unit.
      command = result["bare"]["text"][/^  command +(.*)$/, 1].to_s.split
      expect(command).to include("--setenv=FOO=1", "--property=UnsetEnvironment=LANG", "--on-active=2000ms")
      expect(command.last(2)).to eq(["--", "/usr/bin/true"])
      expect(result["executed"]).to eq("started")
      env_file = @container.path("/var/lib/jrestart-spec/jrestart-child-named/probe.json.env")
      wait_until(timeout: 30, message: "the transient unit's environment") { File.size?(env_file) }
      environment = File.readlines(env_file, chomp: true)
      expect(environment).to include("FOO=1")
      # systemd's own environment has LANG (from /etc/default/locale or C.UTF-8); env: LANG => nil took it out.
      expect(environment.grep(/\ALANG=/)).to eq([])
    ensure
      @container.run("systemctl", "stop", unit) if unit
    end
  end

  # The start limit's count (issue 17): it goes through the state files' one
  # hardened primitive, wherever it lands; a limit of 1 and a hung systemctl
  # are answered, not crashed on or waited for.
  describe "the start limit's count file" do
    def write_file(inside, text, owner)
      File.write(@container.path(inside), text)
      @container.run!("chown", "#{owner}:#{owner}", inside)
    end

    it "a User= unit without /run or XDG_RUNTIME_DIR: another user's 777 jrestart dir and symlink in its java.io.tmpdir leave the victim's file untouched" do
      name = "jrestart-planted"
      attacker = "jrsattacker"
      run_dir = "/var/lib/jrestart-spec/#{name}"
      tmp = "#{run_dir}/tmp"
      precious = "/home/#{JRestartSpec::Nspawn::USER}/precious"
      @container.run!("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", attacker)
      @container.run!("install", "-d", "-m", "1777", tmp)
      write_file(precious, "the service user's own data\n", JRestartSpec::Nspawn::USER)
      # The attacker's plant, as /tmp/jrestart would be: the start count of the unit, a symlink to the victim's file.
      @container.run!("mkdir", "-m", "0777", "#{tmp}/jrestart", user: attacker)
      @container.run!("ln", "-s", precious, "#{tmp}/jrestart/#{name}.service.starts", user: attacker)
      unit = start_unit(name, user: JRestartSpec::Nspawn::USER, start_limit: "StartLimitBurst=5\nStartLimitIntervalSec=60",
                              env: { "JRESTART_COMMAND" => "systemctl --no-block restart #{name}.service",
                                     "JAVA_TOOL_OPTIONS" => "-Djava.io.tmpdir=#{tmp}" })
      before = File.read(@container.path(precious))
      # The start limit is read and counted, then systemctl says Access denied (no polkit rule here).
      reply = JRestartSpec::Loopback.ask(unit.port, "restart-now").to_s
      expect(reply).to match(/\Aerror JRestart::Error: the restart command systemctl failed at once \(exit status 4\)/)
      after = File.read(@container.path(precious))
      expect(after).to eq(before)
      expect(File.lstat(@container.path(precious))).to be_file
      expect(File.readlink(@container.path("#{tmp}/jrestart/#{name}.service.starts"))).to eq(precious)
      # The count went to the service user's own state directory, 0700, its file 0600.
      state = "/home/#{JRestartSpec::Nspawn::USER}/.local/state/jrestart"
      counts = Dir.glob(@container.path("#{state}/*.starts"))
      expect(counts.size).to eq(1), Dir.children(@container.path(state)).inspect
      expect(File.stat(@container.path(state)).mode & 0o7777).to eq(0o700)
      expect(File.stat(counts.first).mode & 0o7777).to eq(0o600)
      expect(show(unit)).to include("MainPID" => @pid.to_s, "ActiveState" => "active")
      report("planted start count: the victim's file before #{before.inspect}, after #{after.inspect}; " \
             "the count in #{counts.first.sub(@container.path(""), "")}")
    ensure
      stop_unit(unit)
      @container&.run("userdel", attacker)
    end

    it "StartLimitBurst=1: restart! is refused with JRestart::Error naming the limit, the unit serving" do
      unit = start_unit("jrestart-burst1", start_limit: "StartLimitBurst=1\nStartLimitIntervalSec=60")
      reply = JRestartSpec::Loopback.ask(unit.port, "restart").to_s
      expect(reply).to start_with("error JRestart::Error: restart refused by the start limit of jrestart-burst1.service:" \
                                  " StartLimitBurst=1")
      expect(reply).to include("leaves no start for a restart")
      sleep 2
      expect(show(unit)).to include("MainPID" => @pid.to_s, "ActiveState" => "active")
      expect(JRestartSpec::Loopback.ask(unit.port, "pid")).to eq(@pid.to_s)
      report("StartLimitBurst=1: #{reply}")
    ensure
      stop_unit(unit)
    end

    # A systemctl client that hangs (a script first in the unit's PATH that
    # sleeps): not a fake of systemd, a client that never answers. The MainPID
    # query, which must answer for the plan to restart the unit at all, goes
    # to the real systemctl; the start limit's query and the restart hang.
    it "a systemctl that hangs: restart! goes on after the 5 s timeout of `systemctl show`, instead of blocking" do
      name = "jrestart-hung"
      bin = "/var/lib/jrestart-spec/#{name}/bin"
      @container.run!("install", "-d", bin)
      File.write(@container.path("#{bin}/systemctl"),
                 "#!/bin/sh\ncase \"$*\" in *MainPID*) exec /usr/bin/systemctl \"$@\";; esac\nexec sleep 600\n")
      File.chmod(0o755, @container.path("#{bin}/systemctl"))
      unit = start_unit(name, env: { "PATH" => "#{bin}:/usr/sbin:/usr/bin:/sbin:/bin" })
      asked = now
      reply = Timeout.timeout(60) { JRestartSpec::Loopback.ask(unit.port, "restart-now").to_s }
      seconds = now - asked
      # 5 s for show, then the hung restart command is watched for 2 s (still running: doing its job).
      expect(reply).to start_with("restarting ")
      expect(seconds).to be_between(5, 20)
      report(format("hung systemctl: restart-now answered %s after %.1f s", reply.inspect, seconds))
    ensure
      stop_unit(unit)
    end
  end
end
