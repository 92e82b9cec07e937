# frozen_string_literal: true

# stop_timeout: (issue 18): how long the orderly stop before an exec in place
# may take. Bad values are refused before anything stops: this runtime's stop
# (a parked thread that runs its at_exit handlers) is still waiting afterwards.
RSpec.describe "stop_timeout:", :without_restart_command do
  # This runtime's stop thread, parked until a stop begins.
  def stop_threads
    java.lang.Thread.all_stack_traces.key_set.select { |t| t.name.start_with?("jrestart stop: ") && t.alive? }
  end

  def expect_nothing_stopped
    expect(stop_threads.map(&:state).map(&:to_s)).to include("TIMED_WAITING")
    expect(java.lang.System.get_property("org.jrestart.stopping")).to be_nil
  end

  it "is 90 s by default outside systemd, and what was given otherwise" do
    expect(JRestart.plan("/bin/true").stop_timeout).to eq(90.0)
    expect(JRestart.plan("/bin/true", stop_timeout: 2.5).stop_timeout).to eq(2.5)
    expect(JRestart.plan("/bin/true", stop_timeout: 0).to_h[:stop_timeout]).to eq(0.0)
    expect(JRestart.plan("/bin/true", stop_timeout: nil).stop_timeout).to eq(90.0)
    expect(JRestart.plan("/bin/true", stop_timeout: 2.5).to_s)
      .to match(/^  stop +on the manager's SIGTERM, every JRuby runtime's at_exit handlers and IO flush within 2\.5 s/)
  end

  {
    -1 => [ArgumentError, /stop_timeout: must be a finite number of seconds >= 0, got -1/],
    Float::NAN => [ArgumentError, /stop_timeout: must be a finite number of seconds >= 0, got NaN/],
    Float::INFINITY => [ArgumentError, /stop_timeout: must be a finite number of seconds >= 0, got Infinity/],
    86_401 => [ArgumentError, /stop_timeout: must be at most 86400 seconds/],
    "3" => [TypeError, /stop_timeout: must be a number of seconds, got String/]
  }.each do |value, (error, message)|
    it "refuses #{value.inspect} with #{error} before anything stops (restart!, plan, reexec!)" do
      expect { JRestart.plan("/bin/true", stop_timeout: value) }.to raise_error(error, message)
      expect { JRestart.restart!("/bin/true", stop_timeout: value) }.to raise_error(error, message)
      expect { JRestart.reexec!(stop_timeout: value) }.to raise_error(error, message)
      expect_nothing_stopped
    end
  end

  it "is not a launch option" do
    expect { JRestart.launch("/bin/true", stop_timeout: 1) }.to raise_error(ArgumentError, /unknown keyword: :stop_timeout/)
  end

  it "is LaunchOptions.stopTimeout from Java, checked as from Ruby" do
    seconds = java.util.concurrent.TimeUnit::SECONDS
    plan = org.jrestart.JRestart.plan(org.jrestart.LaunchOptions.new.stopTimeout(1500, java.util.concurrent.TimeUnit::MILLISECONDS), "/bin/true")
    expect(plan.stopTimeout).to eq(1.5)
    bad = [org.jrestart.LaunchOptions.new.stopTimeout(-1, seconds), org.jrestart.LaunchOptions.new.stopTimeout(1, nil)]
    errors = bad.map do |options|
      org.jrestart.JRestart.plan(options, "/bin/true")
      nil
    rescue Java::OrgJrestartCorePosix::JRestartException => e
      [e.kind.to_s, e.message]
    end
    expect(errors[0]).to match(["INVALID_ARGUMENT", /stop_timeout: must be a finite number of seconds >= 0, got -1/])
    expect(errors[1]).to eq(["INVALID_ARGUMENT", "stopTimeout: the unit is null"])
    expect_nothing_stopped
  end

  it "reads systemd's time spans as systemctl shows TimeoutStopUSec" do
    timespan = org.jrestart.core.host.Systemctl.java_class.to_java.getDeclaredMethod("timespan", java.lang.String.java_class)
    timespan.accessible = true
    spans = ["1min 30s", "90s", "500ms", "2h", "infinity", "5min 250ms", "", "soon", "1 fortnight"]
    expect(spans.map { |span| timespan.invoke(nil, span) })
      .to eq([90.0, 90.0, 0.5, 7200.0, Float::INFINITY, 300.25, Float::NAN, Float::NAN, Float::NAN].map(&:to_f))
      .or(satisfy { |values| values.first(6) == [90.0, 90.0, 0.5, 7200.0, Float::INFINITY, 300.25] && values.last(3).all?(&:nan?) })
  end
end
