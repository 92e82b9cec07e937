# frozen_string_literal: true

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
RSpec.describe "a real Tomcat 10.1 restarted with restart!(overlap: true) from a JRuby plugin page", :tomcat do
  include JRestartSpec::OverlapClient

  before(:all) do
    skip "no javac in #{ENV_JAVA["java.home"]}" unless JRestartSpec::Tomcat.javac
  end

  around do |example|
    @tomcat = JRestartSpec::Tomcat.new(overlap: true)
    example.run
  ensure
    @tomcat&.stop
  end

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

  # [pid, start millis, time millis] of the marker line what.
  def mark(what, pid)
    @tomcat.marks.find { |m| m[0] == what && m[1] == pid }
  end

  it "hands over to a new Tomcat beside the old one: 0 refused, 0 reset, every request answered, the in-flight " \
     "request completes, the longest wait a fraction of the new JVM's boot; the old one stops in order and exits 0",
     :subreaper do
    old = start_unmanaged
    socket = File.readlink("/proc/#{old}/fd/0")
    expect(socket).to start_with("socket:")
    old_identity = @tomcat.get("/info")[1].chomp
    expect(mark("ready told=false", old)).not_to be_nil, @tomcat.marks.inspect

    prober = JRestartSpec::Prober.new { info }
    sleep 0.3
    started = Queue.new
    slow = Thread.new do
      @tomcat.get("/slow", timeout: 120, started: started)
    ensure
      started.push(false)
    end
    expect(Timeout.timeout(60) { started.pop }).to be(true), "/slow never began to answer: #{slow.value.inspect}"
    asked = now
    expect(@tomcat.get("/plugin/restart?overlap=1")).to eq([200, "restarting\n"]), @tomcat.output
    fresh = begin
      wait_until(timeout: 120, interval: 0.05, message: "a Tomcat other than #{old}") do
        answer = info
        answer[1] if answer.is_a?(Array) && answer[1] != old
      end
    rescue RuntimeError => e
      raise "#{e.message}\n#{@tomcat.marks.inspect}\n#{@tomcat.output}"
    end
    took = now - asked
    _, status = begin
      Timeout.timeout(120) { Process.wait2(old) }
    rescue Timeout::Error
      stack = `#{File.join(ENV_JAVA["java.home"], "bin", "jstack")} #{old} 2>&1`
      raise "the old Tomcat did not exit: #{@tomcat.marks.inspect}\n#{@tomcat.output}\n#{stack}"
    end
    sleep 0.5
    results = prober.stop
    answered = results.select { |r| r.is_a?(Array) }
    run = { results: results, failed: results.reject { |r| r.is_a?(Array) }, worst: answered.map(&:last).max,
            took: took, by_pid: answered.map { |r| r[1] }.tally }
    _, start_millis, ready_millis = mark("ready told=true", fresh)&.drop(1)
    expect(ready_millis).not_to be_nil, "the new Tomcat's ready line: #{@tomcat.marks.inspect}\n#{@tomcat.output}"
    boot = (ready_millis - start_millis) / 1000.0
    report("Tomcat #{overlap_report("unmanaged", run)}; the new JVM booted in #{boot.round(2)} s (JVM start to " \
           "ready()); the old one exited #{status.exitstatus}")

    expect(run[:failed]).to be_empty
    expect(run[:by_pid].keys).to contain_exactly(old, fresh)
    expect(run[:worst]).to be < boot / 3
    expect(slow.value).to eq([200, "slow started\nslow done #{old_identity}\n"]), @tomcat.output
    expect(status.exitstatus).to eq(0)
    # The order: the new Tomcat ready, then the old one's hook, then its webapp destroyed.
    ready = mark("ready told=true", fresh)
    hook = mark("hook OVERLAP", old) || mark("hook overlap", old)
    destroyed = mark("destroyed", old)
    expect([hook, destroyed]).to all(be_truthy), @tomcat.marks.inspect
    expect(ready[3]).to be <= hook[3]
    expect(hook[3]).to be <= destroyed[3]
    # The new Tomcat serves the very listener the old one had, as its fd 0, beside no other Tomcat.
    expect(File.readlink("/proc/#{fresh}/fd/0")).to eq(socket)
    expect(@tomcat.processes).to eq([fresh])
    log = @tomcat.output
    expect(log.scan(/Server startup in/).size).to eq(2), log
    expect(log.scan(/Initializing ProtocolHandler \["http-nio-JVMInheritedChannel"\]/).size).to eq(2), log
    expect(log).not_to match(/Socket accept failed|started a thread named \[jrestart/)

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
