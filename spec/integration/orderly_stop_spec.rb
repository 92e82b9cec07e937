# frozen_string_literal: true

require "json"
require "open3"
require "tmpdir"
require_relative "../support/orderly_hook"
require_relative "../support/supervised"

# The orderly stop (issue 18, items 1 and 3): before an exec in place, and on
# the SIGTERM a manager sends after restart! started its restart command, the
# old JVM runs what a manager's stop would run: every runtime's at_exit
# handlers and IO flush, then the JVM's shutdown hooks (one written as a Ruby
# block, one in plain Java). spec/support/orderly_service.rb leaves a marker
# for each, and 100 bytes written with sync = false; the proof is those
# files after the restart, and the new JVM answering (same pid in place).
# The mechanisms of issue 18's table (PID 1, tini, a User= unit, an init
# script, a root unit) are spec/integration/stop_table_spec.rb's rows; these
# examples are the rest: plain reexec!, the stop timeout, bad hooks, bad input.
RSpec.describe "the orderly stop" do
  SERVICE = File.expand_path("../support/orderly_service.rb", __dir__)

  before(:all) do
    reason = JRestartSpec::OrderlyHook.skip_reason
    skip reason if reason

    @classes = JRestartSpec::OrderlyHook.compile(Dir.mktmpdir("jrestart-orderly-hook"))
  end

  after(:all) { FileUtils.rm_rf(@classes) if @classes }

  def service_env(port, dir, env = {})
    { "DEMO_PORT" => port.to_s, "DEMO_RUN_DIR" => dir, "ORDERLY_HOOK_CLASSES" => @classes, **env }
  end

  # Starts the service (prefix: what runs it, e.g. unshare); yields [port, the launch].
  # Kills what is left of it, whatever happens.
  def serving(dir, prefix: [], env: {})
    port = JRestartSpec::Loopback.free_port
    launch = JRestart.launch(*prefix, *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), SERVICE,
                             env: service_env(port, dir, env), log: File.join(dir, "service.log"))
    begin
      expect(info(port, 0, launch)).not_to be_nil, "the service never answered:\n#{log(dir)}"
      yield port, launch
    ensure
      kill_all(children_of(launch.pid))
      kill_and_reap(launch.pid) unless launch.exited?
    end
  end

  def log(dir)
    File.exist?(File.join(dir, "service.log")) ? File.read(File.join(dir, "service.log")) : ""
  end

  # [pid, generation, JVM start in ms] once generation answers; nil after timeout or when launch exited.
  def info(port, generation, launch = nil, timeout: 180)
    deadline = now + timeout
    while now < deadline
      answer = JRestartSpec::Loopback.ask(port, "info").to_s.split.map { |word| Integer(word) }
      return answer if answer[1] == generation
      return nil if launch&.exited?

      sleep 0.1
    end
    nil
  end

  def marker(dir, name, generation = 0)
    path = File.join(dir, "#{name}.#{generation}")
    File.exist?(path) ? File.read(path) : nil
  end

  # What the old JVM's stop left: every marker holds its pid, and the 100 buffered bytes are on disk.
  def expect_orderly(dir, pid)
    expect(%w[at_exit ruby_hook java_hook].to_h { |name| [name, marker(dir, name)] })
      .to eq("at_exit" => pid.to_s, "ruby_hook" => pid.to_s, "java_hook" => pid.to_s), log(dir)
    expect(marker(dir, "buffered")).to eq("x" * 100)
    expect(log(dir)).not_to include("NullPointerException")
  end

  def record(port)
    JSON.parse(JRestartSpec::Loopback.ask(port, "record"))
  end

  it "runs at_exit, the flush and both hooks before a plain reexec!, then the same pid serves" do
    Dir.mktmpdir("jrestart-orderly") do |dir|
      serving(dir) do |port, launch|
        pid, = info(port, 0)
        expect(JRestartSpec::Loopback.ask(port, "reexec")).to eq("reexecing")
        new_pid, = info(port, 1, launch)
        expect(new_pid).to eq(pid)
        expect_orderly(dir, pid)
        expect(record(port)).to include("mechanism" => "in_place", "still_running" => [])
      end
    end
  end

  # The restart command here is a manager's stop and nothing else: it sends the SIGTERM, so that this
  # spec, the JVM's parent, sees how the JVM ended.
  it "exits 143 on a restart command's SIGTERM, having run at_exit, the flush and both hooks" do
    Dir.mktmpdir("jrestart-orderly") do |dir|
      command = "/bin/sh -c 'kill -TERM $(cat #{dir}/boot.0)'"
      serving(dir, env: { "JRESTART_COMMAND" => command }) do |port, launch|
        pid, = info(port, 0)
        expect(JRestartSpec::Loopback.ask(port, "restart")).to eq("restarting")
        status = launch.wait(120)
        expect(status&.exitstatus).to eq(143), log(dir)
        expect_orderly(dir, pid)
      end
    end
  end

  it "leaves SIGTERM as it was outside a restart: exit 143, the hooks, but no at_exit and no flush" do
    Dir.mktmpdir("jrestart-orderly") do |dir|
      serving(dir) do |port, launch|
        pid, = info(port, 0)
        Process.kill(:TERM, pid)
        status = launch.wait(120)
        expect(status&.exitstatus).to eq(143)
        expect(marker(dir, "ruby_hook")).to eq(pid.to_s)
        expect(marker(dir, "java_hook")).to eq(pid.to_s)
        expect(marker(dir, "at_exit")).to be_nil
        expect(marker(dir, "buffered")).to eq("")
      end
    end
  end

  it "execs at the stop timeout with a hook still running, and the record names it" do
    Dir.mktmpdir("jrestart-orderly") do |dir|
      serving(dir, env: { "ORDERLY_SLOW_HOOK" => "30000" }) do |port, launch|
        pid, = info(port, 0)
        asked = Time.now.to_f * 1000
        expect(JRestartSpec::Loopback.ask(port, "reexec 1")).to eq("reexecing")
        new_pid, _, started = info(port, 1, launch)
        expect(new_pid).to eq(pid)
        waited = (started - asked) / 1000.0
        RSpec.configuration.reporter.message("\n  stop_timeout 1 s: the exec came #{waited.round(2)} s after the request")
        expect(waited).to be_between(0.9, 10)
        expect(marker(dir, "slow_hook")).to be_nil
        expect_orderly(dir, pid)
        expect(record(port)["still_running"]).to eq(["shutdown hook slow hook"])
      end
    end
  end

  it "restarts through hooks that raise or call exit, and an at_exit handler that calls exit!" do
    Dir.mktmpdir("jrestart-orderly") do |dir|
      serving(dir, env: { "ORDERLY_BAD_HOOKS" => "1" }) do |port, launch|
        pid, = info(port, 0)
        expect(JRestartSpec::Loopback.ask(port, "reexec 5")).to eq("reexecing")
        expect(info(port, 1, launch)&.first).to eq(pid), log(dir)
        expect_orderly(dir, pid)
        expect(%w[exit_bang throwing_hook exiting_hook].map { |name| marker(dir, name) }).to all(eq(pid.to_s))
        expect(record(port)["still_running"]).to eq(["shutdown hook exiting hook (called exit)"])
      end
    end
  end

  it "refuses an exec that cannot work before anything stops" do
    Dir.mktmpdir("jrestart-orderly") do |dir|
      foreign = File.join(dir, "foreign")
      # An ELF header for AArch64 (e_machine 183): this JVM is x86_64, or the other way round.
      machine = RbConfig::CONFIG["host_cpu"] == "aarch64" ? 62 : 183
      File.binwrite(foreign, "\x7fELF\x02\x01\x01".b + ("\0" * 9) + [2, machine].pack("v2") + ("\0" * 44))
      script = File.join(dir, "script")
      File.write(script, "#!/nonexistent/interpreter\n")
      File.chmod(0o755, foreign, script)
      serving(dir) do |port, _launch|
        pid, = info(port, 0)
        expect(JRestartSpec::Loopback.ask(port, "reexec-path #{dir}/missing")).to match(/\AErrno::ENOENT: .*missing/)
        expect(JRestartSpec::Loopback.ask(port, "reexec-path #{foreign}"))
          .to match(/\AErrno::ENOEXEC: .*another machine/)
        expect(JRestartSpec::Loopback.ask(port, "reexec-path #{script}"))
          .to match(%r{\AErrno::ENOENT: .*#! interpreter /nonexistent/interpreter})
        expect(info(port, 0).first).to eq(pid)
        expect(%w[at_exit ruby_hook java_hook].map { |name| marker(dir, name) }).to all(be_nil)
      end
    end
  end
end

# A Java host without JRuby (the facade, spec/support/java/PlainService.java) as PID 1 of a pid namespace:
# JRestart.restart() restarts it in place, and the JVM's shutdown hook runs first.
RSpec.describe "the orderly stop of a plain Java host" do
  PLAIN_SUPPORT = File.expand_path("../support/java", __dir__)

  def java_tool(name)
    File.join(ENV_JAVA.fetch("java.home"), "bin", name)
  end

  before(:all) do
    skip "unshare --pid needs root" unless Process.uid.zero?
    skip "no javac in #{ENV_JAVA["java.home"]}" unless File.executable?(java_tool("javac"))

    @dir = Dir.mktmpdir("jrestart-orderly-java")
    classpath_file = File.join(@dir, "classpath.txt")
    out, status = Open3.capture2e("mvn", "-q", "-f", File.join(PLAIN_SUPPORT, "pom.xml"), "dependency:build-classpath",
                                  "-Dmdep.outputFile=#{classpath_file}")
    raise "mvn could not resolve jnr-ffi and jnr-constants:\n#{out}" unless status.success?

    classes = File.join(@dir, "classes")
    FileUtils.mkdir_p(classes)
    @classpath = [File.join(JRestartSpec::JRuby::LIB, "jrestart/jrestart.jar"), File.read(classpath_file).strip,
                  classes].join(":")
    out, status = Open3.capture2e(java_tool("javac"), "--release", "8", "-cp", @classpath, "-d", classes,
                                  File.join(PLAIN_SUPPORT, "PlainService.java"))
    raise "javac failed:\n#{out}" unless status.success?
  end

  after(:all) { FileUtils.rm_rf(@dir) if @dir }

  it "runs its shutdown hook before JRestart.restart() execs it in place as PID 1" do
    port = JRestartSpec::Loopback.free_port
    marker = File.join(@dir, "hook")
    log = File.join(@dir, "service.log")
    launch = JRestart.launch("unshare", "--pid", "--fork", "--mount-proc", java_tool("java"), "-cp", @classpath,
                             "PlainService", port.to_s, File.join(@dir, "hooks"), marker, log: log)
    begin
      wait_until(timeout: 60, message: "the plain Java service") { JRestartSpec::Loopback.ask(port, "info") }
      expect(JRestartSpec::Loopback.ask(port, "info")).to eq("1 jruby=false")
      expect(JRestartSpec::Loopback.ask(port, "restart")).to eq("restarting in place")
      record = wait_until(timeout: 60, message: "the new image's record") do
        answer = JRestartSpec::Loopback.ask(port, "record")
        answer if answer&.start_with?("previous=1 ")
      end
      expect(record).to include("mechanism=IN_PLACE")
      expect(File.read(marker)).to eq("1"), File.read(log)
    ensure
      kill_all(children_of(launch.pid))
      kill_and_reap(launch.pid) unless launch.exited?
    end
  end
end
