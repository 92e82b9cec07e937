# frozen_string_literal: true

# overlap: and ready! (issue 19): what plan(overlap: true) says, and bad input
# refused before anything starts. The restarts themselves are in
# spec/integration/overlap_spec.rb and overlap_systemd_spec.rb.
RSpec.describe "overlap:", :without_restart_command do
  # Processes whose parent is this JVM: an overlap that starts nothing leaves this list as it was.
  def my_children
    Dir.glob("/proc/[0-9]*/stat").filter_map do |stat|
      fields = File.read(stat).split(") ", 2).last.split
      File.basename(File.dirname(stat)).to_i if fields[1].to_i == Process.pid
    rescue SystemCallError
      nil
    end
  end

  it "plans this JVM's own command line started beside it, and says which manager tracks the new JVM" do
    plan = JRestart.plan(overlap: true)
    expect(plan.strategy).to eq(:overlap)
    expect(plan.command).to eq(File.binread("/proc/self/cmdline").split("\0"))
    expect(plan.ready_timeout).to eq(120.0)
    expect(plan.pidfile).to be_nil
    expect(plan.overlap).to match(/\Ano service manager tracks this JVM \(.*\) and no pid file names it/)
    expect(plan.to_h).to include(session: :same, cwd: nil, stdin: "this JVM's", overlap: plan.overlap,
                                 ready_timeout: 120.0, pidfile: nil, strategy: :overlap)
    expect(plan.to_s).to match(/^  overlap +the new JVM starts beside this one and has 120 s \(ready_timeout:\)/)
      .and match(/^  tracked by +no service manager tracks this JVM/)
      .and match(/^  strategy +posix_spawn beside this JVM: same session, cwd and listeners/)
    expect(JRestart.plan(overlap: true, ready_timeout: 2.5).ready_timeout).to eq(2.5)
    expect(JRestart.plan("/bin/true", overlap: false).strategy).to eq(:spawn)
  end

  {
    { overlap: 1 } => [TypeError, "overlap: must be true or false, got Integer"],
    { overlap: "yes" } => [TypeError, "overlap: must be true or false, got String"],
    { overlap: nil } => [TypeError, "overlap: must be true or false, got NilClass"],
    { overlap: true, ready_timeout: 0 } => [ArgumentError, "ready_timeout: must be a finite number of seconds > 0, got 0"],
    { overlap: true, ready_timeout: -1 } => [ArgumentError, "ready_timeout: must be a finite number of seconds > 0, got -1"],
    { overlap: true, ready_timeout: Float::NAN } =>
      [ArgumentError, "ready_timeout: must be a finite number of seconds > 0, got NaN"],
    { overlap: true, ready_timeout: Float::INFINITY } =>
      [ArgumentError, "ready_timeout: must be a finite number of seconds > 0, got Infinity"],
    { overlap: true, ready_timeout: 86_401 } =>
      [ArgumentError, "ready_timeout: must be at most 86400 seconds (one day), got 86401"],
    { overlap: true, ready_timeout: "5" } => [TypeError, "ready_timeout: must be a number of seconds, got String"],
    { ready_timeout: 5 } => [ArgumentError, "ready_timeout: applies only with overlap: true"],
    { overlap: false, pidfile: "/run/x.pid" } => [ArgumentError, "pidfile: applies only with overlap: true"],
    { overlap: true, delay: 1 } => [ArgumentError, "delay: does not apply with overlap: true (the new JVM runs this " \
                                                   "JVM's own command line, in its cwd and session, with its stdio)"],
    { overlap: true, log: "/tmp/x.log" } => [ArgumentError, /\Alog: does not apply with overlap: true/],
    { overlap: true, chdir: "/tmp" } => [ArgumentError, /\Achdir: does not apply with overlap: true/],
    { overlap: true, strategy: :fork } => [ArgumentError, /\Astrategy: does not apply with overlap: true/],
    { overlap: true, close: :sockets } => [ArgumentError, /\Aclose: does not apply with overlap: true/],
    { overlap: true, pidfile: 3 } => [TypeError, "pidfile: must be a String or a Pathname, got Integer"]
  }.each do |options, (error, message)|
    it "refuses #{options.inspect} with #{error}, starting nothing (plan and restart!)" do
      before = my_children
      expect { JRestart.plan(**options) }.to raise_error(error, message)
      expect { JRestart.restart!(**options) }.to raise_error(error, message)
      expect(my_children).to eq(before)
    end
  end

  it "refuses a command: the new JVM runs this JVM's own command line" do
    expect { JRestart.plan("/bin/true", overlap: true) }.to raise_error(
      ArgumentError, "overlap: starts this JVM's own command line beside it: a command (/bin/true) cannot be given"
    )
  end

  it "ready! in a JVM no overlap started is harmless: false, and false again" do
    expect(JRestart.ready!).to be(false)
    expect(JRestart.ready!).to be(false)
  end

  it "is LaunchOptions.overlap/readyTimeout/pidFile and JRestart.ready() from Java, checked as from Ruby" do
    options = org.jrestart.LaunchOptions.new.overlap(true).readyTimeout(1500, java.util.concurrent.TimeUnit::MILLISECONDS)
    plan = org.jrestart.JRestart.plan(options)
    expect(plan.strategy.to_s).to eq("OVERLAP")
    expect(plan.readyTimeout).to eq(1.5)
    bad = {
      org.jrestart.LaunchOptions.new.overlap(true).readyTimeout(0, java.util.concurrent.TimeUnit::SECONDS) =>
        "ready_timeout: must be a finite number of seconds > 0, got 0",
      org.jrestart.LaunchOptions.new.overlap(true).readyTimeout(1, nil) => "readyTimeout: the unit is null",
      org.jrestart.LaunchOptions.new.overlap(true).pidFile(nil) => "pidFile: the file is null"
    }
    bad.each do |options, message|
      expect { org.jrestart.JRestart.plan(options) }.to raise_error(Java::OrgJrestartCorePosix::JRestartException) { |e|
        expect(e.kind.to_s).to eq("INVALID_ARGUMENT")
        expect(e.message).to include(message)
      }
    end
    expect(org.jrestart.JRestart.ready).to be(false)
  end
end
