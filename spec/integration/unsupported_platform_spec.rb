# frozen_string_literal: true

require "json"
require "open3"

# macOS has no pipe2, so libc cannot be bound there as jrestart binds it (and
# its posix_spawn flags and struct stat differ, and it has no /proc). Hiding
# pipe2 here (jrestart.hide_symbols) makes this JVM's libc unusable the same
# way: the gem must still load, say why it cannot work, and refuse every
# native operation rather than start anything or answer wrongly.
RSpec.describe "JRestart on a platform it does not support (libc without pipe2, as on macOS)" do
  UNSUPPORTED_PLATFORM_SCRIPT = <<~'RUBY'
    require "json"
    require "jrestart"
    refusals = {}
    calls = {
      "socket?" => -> { JRestart.socket?(0) }, "fstat" => -> { JRestart.fstat(0) },
      "open_fds" => -> { JRestart.open_fds }, "launch" => -> { JRestart.launch("/bin/true") },
      "restart!" => -> { JRestart.restart!("/bin/true") }, "restart! with no command" => -> { JRestart.restart! },
      "plan" => -> { JRestart.plan("/bin/true") }, "reexec!" => -> { JRestart.reexec! },
      "reexec! with argv" => -> { JRestart.reexec!(["/bin/true"]) }, "detect" => -> { JRestart.detect },
      "Detect.call" => -> { JRestart::Detect.call }, "restart_command" => -> { JRestart.restart_command },
      "notify" => -> { JRestart.notify("READY=1") }, "state_directory" => -> { JRestart.state_directory }
    }
    calls.each do |name, call|
      refusals[name] = begin
        call.call
        "returned"
      rescue Exception => e # rubocop:disable Lint/RescueException
        "#{e.class}: #{e.message}"
      end
    end
    facade = Java::OrgJrestart::JRestart
    java_calls = { "restart" => -> { facade.restart("/bin/true") }, "launch" => -> { facade.launch("/bin/true") },
                   "plan" => -> { facade.plan }, "detect" => -> { facade.detect }, "notify" => -> { facade.notify("READY=1") } }
    java_refusals = java_calls.transform_values do |call|
      call.call
      "returned"
    rescue Java::OrgJrestartCorePosix::JRestartException => e
      "#{e.kind}: #{e.message}"
    end
    children = Dir.glob("/proc/self/task/*/children").flat_map { |f| File.read(f).split }
    puts JSON.generate(features: JRestart.features, supported: JRestart.supported?, refusals: refusals,
                       last_restart: JRestart.last_restart.inspect, restart_limit: JRestart.restart_limit,
                       java_refusals: java_refusals, unavailable: facade.unavailable,
                       children: children)
  RUBY

  before(:all) do
    command = JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START, "-Djrestart.hide_symbols=pipe2")
    out, err, status = Open3.capture3(*command, "-e", UNSUPPORTED_PLATFORM_SCRIPT)
    raise "the JRuby without pipe2 failed (#{status}): #{err}" unless status.success?

    @result = JSON.parse(out.lines.last)
    @stderr = err
  end

  it "loads, and says why it cannot work, naming what libc lacks" do
    expect(@result["supported"]).to be(false)
    expect(@result["features"]).to eq("supported" => false, "unsupported" => "libc.so.6 lacks pipe2")
    expect(@stderr).not_to include("jrestart")
  end

  it "was restarted by nothing, and keeps the guard's setting, which needs no libc" do
    expect(@result["last_restart"]).to eq("nil")
    expect(@result["restart_limit"]).to be_nil # JRESTART_LIMIT=off, as spec_helper sets it for the suite
  end

  it "refuses every native operation with NotImplementedError naming the operation and the platform" do
    platform = "#{ENV_JAVA["os.name"]} #{ENV_JAVA["os.arch"]}"
    expect(@result["refusals"].size).to eq(14)
    @result["refusals"].each do |name, refusal|
      expect(refusal).to start_with("NotImplementedError: "), "#{name}: #{refusal}"
      expect(refusal).to include("is not available on #{platform}: libc.so.6 lacks pipe2; jrestart supports Linux"),
                         "#{name}: #{refusal}"
    end
  end

  it "refuses the same through the Java facade, as JRestartException of kind UNSUPPORTED" do
    expect(@result["unavailable"]).to eq("libc.so.6 lacks pipe2")
    expect(@result["java_refusals"].keys).to eq(%w[restart launch plan detect notify])
    @result["java_refusals"].each do |name, refusal|
      expect(refusal).to match(/\AUNSUPPORTED: .* is not available on .*: libc\.so\.6 lacks pipe2/), "#{name}: #{refusal}"
    end
  end

  it "starts nothing" do
    expect(@result["children"]).to eq([])
  end
end
