# frozen_string_literal: true

require "jrestart/testing"

# Restart hooks in this suite's own process: each example removes the hooks it
# registered, since the list is one per process. The restarts run /bin/true
# through JRestart::Plan#execute, which runs the hooks as restart! does but
# does not take the process's one restart.
RSpec.describe "JRestart.on_restart" do
  let(:registered) { [] }
  let(:dir) { Dir.mktmpdir("jrestart-hooks") }

  def hook(&block)
    JRestart.on_restart(&block).tap { |registered_hook| registered << registered_hook }
  end

  def restart(reason: nil)
    launch = JRestart.plan("/bin/true", reason: reason).execute
    launch.wait
    launch
  end

  after do
    registered.each(&:remove)
    FileUtils.rm_rf(dir)
  end

  it "runs every hook in registration order, the same block twice when registered twice, before the command" do
    calls = Queue.new
    first = ->(_restart) { calls << :first }
    hook(&first)
    hook { calls << :second }
    hook(&first)
    restart
    expect(Array.new(calls.size) { calls.pop }).to eq(%i[first second first])
    expect(JRestart.restart_hooks.last(3)).to eq(registered)
  end

  it "makes two handles of one registration equal with one hash, and handles of two registrations differ" do
    first = hook { nil }
    second = hook { nil }
    again = JRestart.restart_hooks.find { |h| h == first }
    expect(again).not_to equal(first)
    expect(again.hash).to eq(first.hash)
    expect(again).to eql(first)
    expect({ first => 1, second => 2 }[again]).to eq(1)
    expect(second).not_to eq(first)
    expect([first, again, second].uniq.size).to eq(2)
  end

  it "gives each hook the restart: reason, mechanism, command, deadline, timeout and the time remaining" do
    seen = Queue.new
    hook { |r| seen << [r, r.remaining, Thread.current] }
    before = Time.now
    restart(reason: "config changed")
    r, remaining, thread = seen.pop
    expect(r).to have_attributes(reason: "config changed", mechanism: :spawn, command: ["/bin/true"], timeout: 90.0)
    expect(r.command).to be_frozen
    expect(r.deadline).to be_a(Time).and be_within(5).of(before + 90)
    expect(remaining).to be_a(Float).and be_between(80, 90)
    expect(r.remaining).to be < remaining
    expect(thread).not_to eq(Thread.current)
  end

  it "tells where each hook was registered, and removes it once" do
    line = __LINE__ + 1
    registered_hook = hook { nil }
    expect(registered_hook.location).to eq("#{__FILE__}:#{line}")
    expect(registered_hook.inspect).to eq("#<JRestart::RestartHook #{__FILE__}:#{line}>")
    expect(JRestart.restart_hooks).to include(registered_hook)
    expect(registered_hook.remove).to be(true)
    expect(registered_hook.remove).to be(false)
    expect(JRestart.restart_hooks).not_to include(registered_hook)
  end

  it "does not run a removed hook" do
    ran = []
    hook { ran << :kept }
    hook { ran << :removed }.remove
    restart
    expect(ran).to eq([:kept])
  end

  it "refuses on_restart without a block" do
    expect { JRestart.on_restart }.to raise_error(ArgumentError, /on_restart needs a block/)
  end

  context "when a hook does not return" do
    # Each of these vetoes the restart, names the hook and how it ended, and leaves this JVM running.
    {
      "raises" => [-> { raise IOError, "drain failed" }, "IOError: drain failed"],
      "calls exit" => [-> { exit 3 }, "it called exit (status 3), which a restart hook cannot do: return to let " \
                                      "the restart go on, raise to refuse it"],
      "calls throw" => [-> { throw :done }, "UncaughtThrowError: uncaught throw :done"],
      "kills its thread" => [-> { Thread.current.kill }, "its thread was killed (Thread#kill) before it returned"]
    }.each do |what, (body, said)|
      it "vetoes the restart when it #{what}: nothing is started, and the later hooks do not run" do
        marker = File.join(dir, "started")
        later = []
        line = __LINE__ + 1
        hook { body.call }
        hook { later << :ran }
        expect { JRestart.plan("/bin/sh", "-c", "touch #{marker}").execute }
          .to raise_error(JRestart::Vetoed, "the restart was vetoed by the restart hook registered at " \
                                            "#{__FILE__}:#{line}: #{said}; nothing was started")
        sleep 0.5
        expect(File.exist?(marker)).to be(false)
        expect(later).to be_empty
        expect(JRestart::Vetoed.ancestors).to include(JRestart::Error)
      end
    end
  end

  it "leaves a hook behind at the deadline: the restart goes on, and the late hooks are named" do
    # The stop timeout is 90 s until stop_timeout: comes; the core's RestartHooks.run takes any deadline.
    hooks = Java::OrgJrestartCoreHooks::RestartHooks
    released = Queue.new
    late = hook { released.pop }
    never = hook { nil }
    others = JRestart.restart_hooks.reject { |h| registered.include?(h) }
    expect(others).to be_empty
    argument = java.util.HashMap.new
    { "reason" => nil, "mechanism" => "spawn", "command" => java.util.Arrays.as_list("/bin/true"),
      "deadlineMillis" => java.lang.Long.new(java.lang.System.current_time_millis + 1000),
      "deadlineNanos" => java.lang.Long.new(java.lang.System.nano_time + 1_000_000_000),
      "timeoutNanos" => java.lang.Long.new(1_000_000_000) }.each { |key, value| argument.put(key, value) }
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    result = hooks.run(argument).to_a
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be_between(0.9, 10)
    expect(result).to eq([late.location, never.location])
    released << :go
  end
end
