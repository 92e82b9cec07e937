# frozen_string_literal: true

require_relative "../support/nspawn"
require_relative "../support/overlap_client"
require_relative "../support/tomcat"

# Issue 19's Tomcat proof: a real Tomcat 10.1 whose connector serves the
# listener it got on fd 0 (useInheritedChannel), restarted by a JRuby plugin
# page with restart!(overlap: true, inherited_channel: 0). The new Tomcat
# starts beside the old one on the same listener; OverlapListener (a
# <Server> listener, java/tomcat/server) calls org.jrestart.JRestart.ready()
# once its connector runs, and its restart hook makes the old Tomcat's
# acceptor stop without taking a connection; the old Tomcat then stops in
# order (contextDestroyed) and exits 0. A client requesting every 10 ms is
# never refused nor cut, and waits a fraction of the new JVM's boot.
RSpec.shared_context "an overlapping Tomcat" do
  include JRestartSpec::OverlapClient

  def info
    request(@tomcat.port, "/info")
  end

  # Starts Tomcat as this JVM's child (no pid namespace: overlap is refused
  # in one) on an inherited listener; returns its JVM's pid once it answers.
  def start_unmanaged
    @tomcat.start(namespace: false)
    old = wait_until(timeout: 180, interval: 0.2, message: "Tomcat to answer /info") do
      answer = info
      answer.is_a?(Array) ? answer[1] : (!alive?(@tomcat.pid) && raise("Tomcat ended:\n#{@tomcat.output}"))
    end
    expect(old).to eq(@tomcat.pid)
    old
  end

  # The marker line what of pid (OverlapListener's or MarkerListener's): [what, pid, start millis, time millis].
  def mark(what, pid)
    @tomcat.marks.find { |m| m[0] == what && m[1] == pid }
  end

  # The plugin page asked for an overlap restart while a client requests /info every 10 ms and a /slow request
  # is in flight; waits for a JVM other than old to answer, then for the block (given the new pid) to say the
  # handover is complete. Returns {fresh:, results:, failed:, worst:, took:, by_pid:, slow:, boot:, handed:
  # (the block's value)}; boot is the new JVM's, from its start to its ready() (OverlapListener's mark).
  def overlap_under_load(old)
    prober = JRestartSpec::Prober.new { info }
    sleep 0.3
    slow = @tomcat.slow_in_flight
    asked = now
    expect(@tomcat.get("/plugin/restart?overlap=1")).to eq([200, "restarting\n"]), @tomcat.output
    fresh = begin
      wait_until(timeout: 180, interval: 0.05, message: "a Tomcat other than #{old}") do
        answer = info
        answer[1] if answer.is_a?(Array) && answer[1] != old
      end
    rescue RuntimeError => e
      raise "#{e.message}\n#{@tomcat.marks.inspect}\n#{@tomcat.output}"
    end
    took = now - asked
    handed = yield fresh
    sleep 0.5
    results = prober.stop
    answered = results.select { |r| r.is_a?(Array) }
    _, start_millis, ready_millis = mark("ready told=true", fresh)&.drop(1)
    expect(ready_millis).not_to be_nil, "the new Tomcat's ready line: #{@tomcat.marks.inspect}\n#{@tomcat.output}"
    { fresh: fresh, results: results, failed: results.reject { |r| r.is_a?(Array) }, worst: answered.map(&:last).max,
      took: took, by_pid: answered.map { |r| r[1] }.tally, slow: slow.value, handed: handed,
      boot: (ready_millis - start_millis) / 1000.0 }
  ensure
    prober&.stop
  end

  # What every handover shows: every request answered by the old or the new JVM, the longest wait a fraction
  # of the new JVM's boot, the in-flight request completed by the old one, the new Tomcat ready before the old
  # one's hook, the old one's webapp destroyed after it; both Tomcats on the inherited listener.
  def expect_handover(run, old, old_identity)
    fresh = run[:fresh]
    expect(run[:failed]).to be_empty
    expect(run[:by_pid].keys).to contain_exactly(old, fresh)
    expect(run[:worst]).to be < run[:boot] / 3
    expect(run[:slow]).to eq([200, "slow started\nslow done #{old_identity}\n"]), @tomcat.output
    ready = mark("ready told=true", fresh)
    hook = mark("hook OVERLAP", old)
    destroyed = mark("destroyed", old)
    expect([hook, destroyed]).to all(be_truthy), @tomcat.marks.inspect
    expect(ready[3]).to be <= hook[3]
    expect(hook[3]).to be <= destroyed[3]
    log = @tomcat.output
    expect(log.scan(/Server startup in/).size).to eq(2), log
    expect(log.scan(/Initializing ProtocolHandler \["http-nio-JVMInheritedChannel"\]/).size).to eq(2), log
    expect(log).not_to match(/Socket accept failed|started a thread named \[jrestart/)
  end

end

RSpec.describe "a real Tomcat 10.1 restarted with restart!(overlap: true) from a JRuby plugin page", :tomcat do
  include_context "an overlapping Tomcat"

  before(:all) do
    skip "no javac in #{ENV_JAVA["java.home"]}" unless JRestartSpec::Tomcat.javac
  end

  around do |example|
    @tomcat = JRestartSpec::Tomcat.new(overlap: true)
    example.run
  ensure
    @tomcat&.stop
  end

  it "hands over to a new Tomcat beside the old one: 0 refused, 0 reset, every request answered, the in-flight " \
     "request completes, the longest wait a fraction of the new JVM's boot; the old one stops in order and exits 0",
     :subreaper do
    old = start_unmanaged
    socket = File.readlink("/proc/#{old}/fd/0")
    expect(socket).to start_with("socket:")
    old_identity = @tomcat.get("/info")[1].chomp
    expect(mark("ready told=false", old)).not_to be_nil, @tomcat.marks.inspect

    run = overlap_under_load(old) do
      _, status = Timeout.timeout(120) { Process.wait2(old) }
      status
    rescue Timeout::Error
      stack = `#{File.join(ENV_JAVA["java.home"], "bin", "jstack")} #{old} 2>&1`
      raise "the old Tomcat did not exit: #{@tomcat.marks.inspect}\n#{@tomcat.output}\n#{stack}"
    end
    fresh = run[:fresh]
    status = run[:handed]
    report("Tomcat #{overlap_report("unmanaged", run)}; the new JVM booted in #{run[:boot].round(2)} s (JVM start " \
           "to ready()); the old one exited #{status.exitstatus}")
    expect_handover(run, old, old_identity)
    expect(status.exitstatus).to eq(0)
    # The new Tomcat serves the very listener the old one had, as its fd 0, beside no other Tomcat.
    expect(File.readlink("/proc/#{fresh}/fd/0")).to eq(socket)
    expect(@tomcat.processes).to eq([fresh])

    # The new Tomcat stops in order too (its webapp destroyed) on SIGTERM, as a manager's stop sends it.
    Process.kill(:TERM, fresh)
    wait_until(timeout: 60, message: "the new Tomcat to stop") { !alive?(fresh) }
    expect(mark("destroyed", fresh)).not_to be_nil
    expect(@tomcat.processes).to be_empty
  end

  it "keeps the old Tomcat serving when the new one fails at boot: 0 refused, and the plugin page reports " \
     "restart!'s JRestart::Error with the new JVM's output", :subreaper do
    old = start_unmanaged
    old_identity = @tomcat.get("/info")[1].chomp
    prober = JRestartSpec::Prober.new { info }
    sleep 0.3
    asked = now
    status, reply = @tomcat.get("/plugin/restart?overlap=now&fail=1", timeout: 180)
    took = now - asked
    sleep 0.5
    results = prober.stop
    failing = @tomcat.marks.find { |m| m[0] == "failing" }&.at(1)
    report("Tomcat overlap, new JVM failing at boot: #{results.size} requests, " \
           "#{results.count { |r| !r.is_a?(Array) }} not answered, longest wait " \
           "#{(results.select { |r| r.is_a?(Array) }.map(&:last).max * 1000).round} ms; restart! raised after " \
           "#{took.round(2)} s: #{reply.lines.first.to_s[0, 140]}")
    expect(status).to eq(200)
    expect(reply).to match(
      /\Araised JRestart::Error: the new JVM \(pid (\d+)\) exited before it was ready: exited with status 3; this JVM goes on serving as before\. The end of its output:\n.*overlap Tomcat \1: stdout before failing\n.*overlap Tomcat \1: the configuration is broken \(TOMCAT_FAIL=1\)/m
    )
    expect(Integer(reply[/pid (\d+)/, 1])).to eq(failing)
    expect(results.reject { |r| r.is_a?(Array) }).to be_empty
    expect(results.map { |r| r[1] }.uniq).to eq([old])
    expect(alive?(failing)).to be(false)
    expect(@tomcat.processes).to eq([old])
    expect(@tomcat.get("/info")[1].chomp).to eq(old_identity)
    expect(@tomcat.marks.map(&:first)).not_to include("destroyed")
  end
end

# The same Tomcat as a Type=notify unit (root, and User=) of a real systemd 252 (systemd-nspawn), its listener from a
# .socket unit on fd 0 (StandardInput=socket, as the README's Tomcat section shows): the first start's
# READY=1 comes from the same JRestart.ready() call; the overlap leaves the unit active with the new JVM as
# its MainPID, no restart counted, and systemctl stop stops the new Tomcat in order. Only on JRuby 9.4 (the
# container's Java is 17).
RSpec.describe "a real Tomcat 10.1 as a Type=notify unit with a .socket unit, restarted with an overlap " \
               "(systemd-nspawn)", :systemd, :tomcat do
  include_context "an overlapping Tomcat"

  before(:all) do
    reason = JRestartSpec::Nspawn.skip_reason
    skip reason if reason
    skip "no javac in #{ENV_JAVA["java.home"]}" unless JRestartSpec::Tomcat.javac

    @logs = Dir.mktmpdir("jrestart-tomcat-systemd")
    JRestartSpec::Nspawn.ensure_rootfs
    @container = JRestartSpec::Nspawn.new(@logs, binds: [JRestartSpec::Tomcat.home]).boot
  end

  after(:all) { JRestartSpec::Nspawn.finish(@container, @logs) }

  def show(service)
    @container.show(service, "MainPID", "ActiveState", "SubState", "Result", "NRestarts")
  end

  def inside_alive?(pid)
    @container.run("kill", "-0", pid.to_s).last.success?
  end

  # Installs NAME.socket and NAME.service (Type=notify, catalina.sh run, fd 0 the socket; user: User=) for a
  # CATALINA_BASE in the container (seen from the host under /proc/LEADER/root); starts the service (systemctl
  # start returns once Tomcat sent READY=1). Returns [service, MainPID].
  def start_unit(name, user: nil)
    inside = ->(path) { path.delete_prefix(@container.path("")) }
    @container.run!("install", "-d", "/var/lib/jrestart-tomcat")
    @tomcat = JRestartSpec::Tomcat.new(overlap: true, tmp: @container.path("/var/lib/jrestart-tomcat"))
    @tomcat.jruby_jar_at(File.join(JRestartSpec::Nspawn::JRUBY_DIR, File.basename(JRestartSpec::Tomcat.jruby_jar)))
    @tomcat.port = JRestartSpec::Loopback.free_port
    home = JRestartSpec::Tomcat.home
    if user
      @container.run!("chown", "-R", user, inside.call(@tomcat.base))
      # Tomcat's tarball keeps its files from others (mode 640/750, root's): a copy the user can read.
      home = "/var/lib/jrestart-tomcat/home-#{user}"
      @container.run!("cp", "-a", JRestartSpec::Tomcat.home, home) unless @container.run("test", "-d", home).last.success?
      @container.run!("chmod", "-R", "o+rX", home)
    end
    env = @tomcat.environment.merge("JAVA_HOME" => File.dirname(File.dirname(JRestartSpec::Nspawn::JAVA)),
                                    "JRESTART_LIMIT" => "off", "CATALINA_HOME" => home)
                 .transform_values { |v| inside.call(v) }
    log = inside.call(@tomcat.log)
    @container.install_unit("#{name}.socket", <<~UNIT)
      [Socket]
      ListenStream=127.0.0.1:#{@tomcat.port}
    UNIT
    @container.install_unit("#{name}.service", <<~UNIT)
      [Unit]
      Description=jrestart Tomcat overlap spec #{name}
      Requires=#{name}.socket
      After=#{name}.socket
      StartLimitIntervalSec=0

      [Service]
      Type=notify
      NotifyAccess=main
      ExecStart=#{home}/bin/catalina.sh run
      StandardInput=socket
      StandardOutput=append:#{log}
      StandardError=append:#{log}
      #{env.map { |k, v| "Environment=\"#{k}=#{v}\"" }.join("\n")}
      #{"User=#{user}" if user}
      TimeoutStartSec=180
      # A JVM ends with 143 on SIGTERM: a stop, not a failure.
      SuccessExitStatus=143
    UNIT
    service = "#{name}.service"
    @started = service
    started_at = now
    begin
      @container.systemctl("start", service)
    rescue RuntimeError => e
      raise "#{e.message}\n#{@container.journal(service)}\n#{@tomcat.output}"
    end
    state = show(service)
    answer = info
    expect(state).to include("ActiveState" => "active", "SubState" => "running"), @container.journal(service)
    expect(answer).to match([:ok, Integer(state["MainPID"]), be_a(Float)]), "#{answer}\n#{@tomcat.output}"
    report("Tomcat unit #{service} started (READY=1) in #{(now - started_at).round(2)} s")
    [service, Integer(state["MainPID"])]
  end

  after do
    @container&.run("systemctl", "stop", @started, @started.sub(/\.service\z/, ".socket")) if @started
    @tomcat&.stop
  end

  def overlap_and_stop(name, user: nil)
    service, old = start_unit(name, user: user)
    old_identity = @tomcat.get("/info")[1].chomp
    expect(mark("ready told=false", old)).not_to be_nil, @tomcat.marks.inspect

    run = overlap_under_load(old) do |fresh|
      wait_until(timeout: 120, message: "MainPID #{fresh} and the old Tomcat gone") do
        show(service)["MainPID"] == fresh.to_s && !inside_alive?(old)
      end
    end
    fresh = run[:fresh]
    report("Tomcat #{overlap_report("systemd #{user ? "User=#{user}" : "root"} unit", run)}; the new JVM booted " \
           "in #{run[:boot].round(2)} s (JVM start to ready())")
    expect_handover(run, old, old_identity)
    expect(show(service)).to include("MainPID" => fresh.to_s, "ActiveState" => "active", "SubState" => "running",
                                     "NRestarts" => "0")
    expect(@container.journal(service)).not_to include("not our child")

    stopped_at = now
    @container.systemctl("stop", service)
    report("systemctl stop after the overlap: #{(now - stopped_at).round(2)} s, #{show(service)}")
    expect(show(service)).to include("ActiveState" => "inactive", "Result" => "success")
    # Tomcat's own stop ran in the new JVM (its webapp destroyed), not a SIGKILL.
    expect(mark("destroyed", fresh)).not_to be_nil, @tomcat.marks.inspect
    expect(inside_alive?(fresh)).to be(false)
  end

  it "a root unit: READY=1 from ready(), 0 refused, MainPID the new JVM, NRestarts 0, systemctl stop stops it " \
     "in order" do
    overlap_and_stop("jrestart-tomcat-root")
  end

  it "a User=#{JRestartSpec::Nspawn::USER} unit: the same" do
    overlap_and_stop("jrestart-tomcat-user", user: JRestartSpec::Nspawn::USER)
  end

  it "a new Tomcat failing at boot leaves the unit active on the old one (0 refused, NRestarts 0), and the " \
     "plugin page reports restart!'s error with its output" do
    service, old = start_unit("jrestart-tomcat-fail")
    prober = JRestartSpec::Prober.new { info }
    sleep 0.3
    status, reply = @tomcat.get("/plugin/restart?overlap=now&fail=1", timeout: 180)
    sleep 0.5
    results = prober.stop
    report("Tomcat unit, new JVM failing at boot: #{results.size} requests, " \
           "#{results.count { |r| !r.is_a?(Array) }} not answered; #{reply.lines.first.to_s[0, 160]}")
    expect(status).to eq(200)
    expect(reply).to match(/\Araised JRestart::Error: the new JVM \(pid (\d+)\) exited before it was ready: exited \(systemd, which adopted it, has its exit status: journalctl\); this JVM goes on serving as before\. The end of its output:\n.*the configuration is broken \(TOMCAT_FAIL=1\)/m)
    expect(results.reject { |r| r.is_a?(Array) }).to be_empty
    expect(results.map { |r| r[1] }.uniq).to eq([old])
    expect(show(service)).to include("MainPID" => old.to_s, "ActiveState" => "active", "NRestarts" => "0")
  end
end
