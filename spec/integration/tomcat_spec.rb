# frozen_string_literal: true

require_relative "../support/tomcat"

# Issue 18's last proof row: a real Tomcat 10.1 as PID 1 of a pid namespace,
# restarted in place by a JRuby plugin page (ScriptingContainer in the
# webapp calling JRestart.restart!), while a client connects every 10 ms and
# a 2 s request is in flight. Tomcat's own stop (its shutdown hook:
# contextDestroyed) runs before the exec, the request completes, no connect
# is refused, and the same pid serves again from a new JVM on the listener
# handed over on fd 0 (the connector's useInheritedChannel).
# .ci/arm64 runs spec/unit only: this spec never runs on the arm64 leg.
RSpec.describe "a real Tomcat 10.1 as PID 1, restarted in place from a JRuby plugin page", :container do
  before(:all) do
    skip "unshare --pid needs root" unless Process.uid.zero?
    skip "unshare missing (apt-get install util-linux)" unless system("command -v unshare >/dev/null") || ENV["CI"]
    skip "no javac in #{ENV_JAVA["java.home"]}" unless JRestartSpec::Tomcat.javac
  end

  around do |example|
    @tomcat = JRestartSpec::Tomcat.new
    example.run
  ensure
    @tomcat&.stop
  end

  # "PID START_MILLIS" of the JVM answering /info, once it answers.
  def first_identity
    answer = wait_until(timeout: 180, interval: 0.2, message: "Tomcat to answer /info") do
      @tomcat.get("/info", timeout: 10) || (!alive?(@tomcat.pid) && raise("Tomcat ended:\n#{@tomcat.output}"))
    end
    expect(answer[0]).to eq(200)
    answer[1].chomp
  end

  # One request of the prober: the identity that answered /info, :refused
  # (ECONNREFUSED) or :no_answer (accepted, then closed, reset or silent).
  def probe
    answer = @tomcat.request("/info", timeout: 120)
    return answer if answer == :refused

    answer && answer[0] == 200 ? answer[1].chomp : :no_answer
  end

  # Asks the plugin page to restart (query: its parameters) with a /slow
  # request in flight (half answered) and the prober going; waits for a new JVM on /info.
  # Returns [the new identity, /slow's answer, counts per outcome, seconds to the new JVM].
  def restart_under_load(old, query: "")
    prober = JRestartSpec::Prober.new { probe }
    sleep 0.3
    slow = @tomcat.slow_in_flight
    asked = now
    expect(@tomcat.get("/plugin/restart#{query}")).to eq([200, "restarting\n"]), @tomcat.output
    fresh = wait_until(timeout: 180, interval: 0.1, message: "a new JVM on /info") do
      answer = @tomcat.get("/info", timeout: 10)
      answer[1].chomp if answer && answer[1].chomp != old
    end
    took = now - asked
    sleep 0.3
    counts = prober.stop.group_by { |r| r == old ? :old : (r == fresh ? :new : r) }.transform_values(&:size)
    [fresh, slow.value, counts, took]
  ensure
    prober&.stop # a failed expectation must not leave the client running
  end

  # Starts Tomcat on an inherited listener and restarts it through the plugin
  # page (query: its parameters); asserts the whole proof, returns the numbers.
  def prove_restart_in_place(query)
    @tomcat.start
    old = first_identity
    pid, old_start = old.split
    expect(pid).to eq("1")
    jvm = @tomcat.jvm_pid
    fresh, slow, counts, took = restart_under_load(old, query: query)
    new_pid, new_start = fresh.split
    expect(new_pid).to eq("1")
    expect(@tomcat.jvm_pid).to eq(jvm)
    expect(Integer(new_start)).to be > Integer(old_start)
    # The old JVM's webapp was destroyed, by that JVM, before the new one started.
    destroyed = File.readlines(@tomcat.marker, chomp: true)
    expect(destroyed.size).to eq(1)
    _, marker_pid, marker_start, marker_time = destroyed.first.split
    expect([marker_pid, marker_start]).to eq([pid, old_start])
    expect(Integer(marker_time)).to be <= Integer(new_start)
    expect(slow).to eq([200, "slow started\nslow done #{old}\n"]), @tomcat.output
    # Every connect answered by the old or the new JVM, but for at most one
    # that Tomcat's own stop cuts: pausing, its acceptor takes one more
    # connection from the queue (the one its unlockAccept() made to wake it, or
    # a client's ahead of it) and closes it.
    expect(counts.keys - %i[old new no_answer]).to be_empty, "every connect reached a listener: #{counts}"
    expect(counts[:no_answer] || 0).to be <= 1, "at most one connect cut by Tomcat's stop: #{counts}"
    expect(counts[:new]).to be > 0
    # Both Tomcats wrote to the same log, both on the inherited channel.
    log = @tomcat.output
    expect(log.scan(/Server startup in/).size).to eq(2), log
    expect(log.scan(/Initializing ProtocolHandler \["http-nio-JVMInheritedChannel"\]/).size).to eq(2), log
    # jrestart's threads hold no webapp class loader while Tomcat stops, which it would report as a leak.
    expect(log).not_to match(/started a thread named \[jrestart/)
    expect(File.readlink("/proc/#{jvm}/fd/0")).to start_with("socket:")
    [counts, took]
  end

  def numbers(counts, took)
    format("%d connects, %d refused, %d answered by the old JVM, %d by the new one, %d cut; new JVM answered " \
           "%.1f s after the request", counts.values.sum, counts[:refused] || 0, counts[:old] || 0, counts[:new],
           counts[:no_answer] || 0, took)
  end

  it "restart!(inherited_channel: 0): contextDestroyed before the exec, the in-flight request completes, " \
     "0 refused, same pid, a new JVM on the handed-over listener" do
    counts, took = prove_restart_in_place("")
    report("Tomcat restart!(inherited_channel: 0): #{numbers(counts, took)}")
  end

  it "restart! without inherited_channel:: Tomcat never closes its inherited channel, so fd 0 survives the exec " \
     "(contextDestroyed first, in-flight request completes, 0 refused, same pid, new JVM)" do
    counts, took = prove_restart_in_place("?channel=none")
    report("Tomcat restart!: #{numbers(counts, took)}")
  end

  it "control: a connector that binds its own port refuses connects across the same restart" do
    @tomcat.start(inherited: false)
    old = first_identity
    fresh, slow, counts, took = restart_under_load(old, query: "?channel=none")
    expect(fresh.split[0]).to eq("1")
    expect(slow).to eq([200, "slow started\nslow done #{old}\n"]), @tomcat.output
    expect(counts[:refused]).to be > 0, "counts: #{counts}\n#{@tomcat.output}"
    report(format("control, Tomcat rebinding its port: %d connects, %d refused; new JVM answered %.1f s after the request",
                  counts.values.sum, counts[:refused], took))
  end
end
