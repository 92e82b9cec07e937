# frozen_string_literal: true

require "jrestart/testing"

# Test mode in this suite's own process, whose jrestart is real: every
# example leaves it off again. (jrestart/rspec, which keeps it on for good,
# is only ever loaded in other processes: spec/integration/plugin_testing_spec.rb.)
RSpec.describe JRestart::Testing do
  around do |example|
    described_class.enable!
    example.run
  ensure
    described_class.disable!
    described_class.clear
  end

  it "records restart!, launch and reexec! with the plan each would have run, oldest first" do
    restart = JRestart.restart!("/bin/true", "now", reason: "cold key changed", delay: 1)
    launch = JRestart.launch("/bin/sleep", "60")
    reexec = JRestart.reexec!(["/bin/true"], env: { "A" => "1" })

    expect(described_class.requests).to eq([restart, launch, reexec])
    expect(restart).to have_attributes(kind: :restart, command: ["/bin/true", "now"], reason: "cold key changed",
                                       options: { reason: "cold key changed", delay: 1 }, unplanned: nil)
    expect(restart.plan).to have_attributes(path: "/bin/true", strategy: :spawn, reason: "cold key changed")
    expect(restart.plan.options[:delay]).to eq(1)
    expect(launch).to have_attributes(kind: :launch, command: ["/bin/sleep", "60"], reason: nil)
    expect(launch.plan.path).to eq("/bin/sleep")
    expect(reexec).to have_attributes(kind: :reexec, command: ["/bin/true"])
    expect(reexec.plan.strategy).to eq(:exec)
    expect([restart, launch, reexec]).to all(be_frozen)
    expect(restart.to_s).to eq('restart ["/bin/true", "now"] reason: "cold key changed" ' + { delay: 1 }.inspect)
    expect(launch.inspect).to eq('#<JRestart::Testing::Request launch ["/bin/sleep", "60"]>')
  end

  it "takes reexec!'s command line without argv from this process, and restart!'s from JRestart.command" do
    expect(JRestart.reexec!.command).to eq(File.binread("/proc/self/cmdline").split("\0"))
    previous = JRestart.command
    JRestart.command = ["/bin/true", "configured"]
    expect(JRestart.restart!.command).to eq(["/bin/true", "configured"])
  ensure
    JRestart.command = previous
  end

  # Issue 17 item 13: the configured command came back as ASCII-8BIT bytes, so with_command never matched.
  it "gives the configured command back in the encoding it was set in" do
    previous = JRestart.command
    JRestart.command = ["/bin/echo", "café"]
    request = JRestart.restart!
    expect(request.command).to eq(["/bin/echo", "café"])
    expect(request.command.map(&:encoding)).to all(eq(Encoding::UTF_8))
    expect(request.plan.command).to eq(["/bin/echo", "café"])
    expect(JRestart.plan.command.last.encoding).to eq(Encoding::UTF_8)
    latin = "caf\xE9".dup.force_encoding(Encoding::ISO_8859_1)
    JRestart.command = ["/bin/echo", latin]
    expect(JRestart.restart!.command.last).to eq(latin)
    expect(JRestart.restart!.command.last.encoding).to eq(Encoding::ISO_8859_1)
  ensure
    JRestart.command = previous
  end

  it "turns the test mode of the whole process on and off: other runtimes and the Java facade see it" do
    expect(java.lang.System.getProperty("org.jrestart.testing")).to eq("on")
    described_class.disable!
    expect(java.lang.System.getProperty("org.jrestart.testing")).to be_nil
    described_class.enable!
    expect(java.lang.System.getProperty("org.jrestart.testing")).to eq("on")
  end

  it "leaves restart!'s once-per-process flag alone, so that every example can restart" do
    3.times { JRestart.restart!("/bin/true") }
    expect(described_class.requests.size).to eq(3)
    expect(JRestart.instance_variable_get(:@restarted)).to be(false)
  end

  it "raises what the real call raises for bad input, and records nothing then" do
    expect { JRestart.restart!("/bin/true", reason: 42) }.to raise_error(TypeError, /reason: must be a String/)
    expect { JRestart.launch("/no/such/program") }.to raise_error(Errno::ENOENT, %r{/no/such/program})
    expect { JRestart.launch("/bin/true", bogus: 1) }.to raise_error(ArgumentError, /unknown keyword: :bogus/)
    expect { JRestart.reexec!([]) }.to raise_error(ArgumentError, /argv must not be empty/)
    expect(described_class.requests).to eq([])
  end

  it "refuses to execute a plan, however a plugin got it" do
    expect { JRestart.plan("/bin/true").execute }.to raise_error(JRestart::Error, /test mode .* is on, nothing is started/)
  end

  it "clears, and turns off with disable!" do
    JRestart.launch("/bin/true")
    described_class.clear
    expect(described_class.requests).to eq([])
    expect(described_class).to be_enabled
    described_class.disable!
    expect(described_class).not_to be_enabled
  end

  it "runs no restart hook, and records the hooks restart! and reexec! would have run" do
    ran = []
    hook = JRestart.on_restart { ran << :ran }
    restart = JRestart.restart!("/bin/true")
    reexec = JRestart.reexec!(["/bin/true"])
    launch = JRestart.launch("/bin/true")
    expect(ran).to be_empty
    expect(restart.hooks).to include(hook).and be_frozen
    expect(reexec.hooks).to include(hook)
    expect(launch.hooks).to be_empty
  ensure
    hook&.remove
  end
end
