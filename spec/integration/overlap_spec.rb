# frozen_string_literal: true

require "json"
require "socket"
require "tmpdir"
require_relative "../support/overlap_client"
require_relative "../support/supervised"

# Issue 19: restart!(overlap: true) starts the new JVM beside the old one on
# the same listeners; the old one drains and exits once the new one calls
# JRestart.ready!. A client requesting every 10 ms meanwhile is never
# refused, and waits nowhere near a JVM boot. A new JVM that fails leaves
# the old one serving.
RSpec.describe "an overlap restart" do
  include JRestartSpec::OverlapClient
  OVERLAP_SCRIPT = File.expand_path("../support/overlap_service.rb", __dir__)

  def events
    File.exist?(@events) ? File.readlines(@events, chomp: true) : []
  end

  # Processes that carry this example's marker (zombies are not).
  def leftovers(marker)
    JRestartSpec::Supervised.marked(marker)
  end

  # Starts the overlap service on its own (no manager), yields [port, first pid]; kills whatever of it is left.
  # stderr: a file for the service's stderr apart from its stdout (@log).
  def unmanaged(env: {}, stderr: nil)
    Dir.mktmpdir("jrestart-overlap") do |dir|
      port = JRestartSpec::Loopback.free_port
      @events = File.join(dir, "events.log")
      @log = File.join(dir, "service.log")
      marker = dir
      apart = stderr ? ["sh", "-c", 'exec "$@" 2>>"$0"', stderr] : []
      child = JRestart.launch(*apart, *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), OVERLAP_SCRIPT,
                              env: { "DEMO_PORT" => port.to_s, "OVERLAP_LOG" => @events,
                                     "JRESTART_DEMO_DIR" => marker, **env }, log: @log)
      begin
        first = wait_until(timeout: 120, interval: 0.2, message: "the overlap service") do
          answer = request(port)
          answer.is_a?(Array) ? answer[1] : (child.exited? && raise("the service died:\n#{File.read(@log)}"))
        end
        yield port, first, marker
      ensure
        kill_all(leftovers(marker))
        child.wait(30)
        reap_orphans
      end
    end
  end

  it "hands over to a new JVM beside the old one: 0 refused, every request answered, the wait a fraction of a boot",
     :subreaper do
    unmanaged do |port, old_pid, marker|
      plan = JSON.parse(body(port, "/plan"))
      expect(plan).to include("strategy" => "overlap", "session" => "same", "ready_timeout" => 120.0)
      expect(plan["overlap"]).to match(/no service manager tracks this JVM.*no pid file names it/)

      run = overlap_under_load(port, old_pid) { !alive?(old_pid) }
      fresh = run[:fresh]
      report(overlap_report("no manager", run))
      expect(run[:failed]).to be_empty
      expect(run[:slow]).to match([:ok, old_pid, be > 1.5])
      expect(run[:by_pid].keys).to contain_exactly(old_pid, fresh)
      expect(run[:worst]).to be < run[:took] / 3
      took = run[:took]

      lines = events
      expect(lines).to include("#{fresh} ready told=true again=false", "#{old_pid} hook overlap", "#{old_pid} drained",
                               "#{old_pid} at_exit")
      expect(lines.index("#{fresh} calling ready!")).to be < lines.index("#{old_pid} hook overlap")
      expect(lines.grep(/\A#{fresh} listening \h+ inherited=1 parent=#{old_pid}\z/)).not_to be_empty

      record = JSON.parse(body(port, "/record"))
      expect(record).to include("mechanism" => "overlap", "previous_pid" => old_pid, "command_status" => 0,
                                "still_running" => [])
      expect(record["overlap"]).to be_between(0.1, took + 30)
      expect(leftovers(marker)).to eq([fresh])
      # Beside the old one: in its session (the launch gave the first JVM a session of its own).
      expect(session_of(fresh)).to eq(old_pid)
    end
  end

  it "keeps the old JVM serving when the new one fails at boot: 0 refused, and restart! raises with its output",
     :subreaper do
    unmanaged do |port, old_pid, marker|
      prober = JRestartSpec::Prober.new { request(port) }
      sleep 0.3
      expect(body(port, "/restart-now?fail=1")).to match(
        /\Araised JRestart::Error: the new JVM \(pid (\d+)\) exited before it was ready: exited with status 3; this JVM goes on serving as before\. The end of its output:\\noverlap service \1: stdout before failing\\noverlap service \1: the configuration is broken \(OVERLAP_FAIL=1\)/
      )
      sleep 0.5
      results = prober.stop
      failing = Integer(events.grep(/ failing\z/).first.split.first)
      report("overlap, new JVM failing: #{results.size} requests, " \
             "#{results.count { |r| !r.is_a?(Array) }} not answered; failing pid #{failing}")
      expect(results.reject { |r| r.is_a?(Array) }).to be_empty
      expect(results.map { |r| r[1] }.uniq).to eq([old_pid])
      expect(alive?(failing)).to be(false)
      expect(leftovers(marker)).to eq([old_pid])
      expect(JSON.parse(body(port, "/record"))).to be_nil
    end
  end

  it "copies a failing new JVM's stdout and stderr to the old JVM's own when they are two files, and reports both",
     :subreaper do
    Dir.mktmpdir("jrestart-overlap-stderr") do |dir|
      stderr = File.join(dir, "stderr.log")
      unmanaged(stderr: stderr) do |port, _old_pid, _marker|
        reply = body(port, "/restart-now?fail=1")
        failing = Integer(events.grep(/ failing\z/).first.split.first)
        # Two pipes read by two threads: the error has both lines, in the order they arrived.
        expect(reply).to start_with("raised JRestart::Error: the new JVM (pid #{failing}) exited before it was ready")
        expect(reply).to include("overlap service #{failing}: stdout before failing")
          .and include("overlap service #{failing}: the configuration is broken (OVERLAP_FAIL=1)")
        expect(File.read(@log)).to include("overlap service #{failing}: stdout before failing")
        expect(File.read(@log)).not_to include("overlap service #{failing}: the configuration is broken")
        expect(File.read(stderr)).to include("overlap service #{failing}: the configuration is broken")
        expect(File.read(stderr)).not_to include("overlap service #{failing}: stdout before failing")
      end
    end
  end

  it "stops a new JVM that is not ready within ready_timeout (TERM) and counts the attempt with the guard",
     :subreaper do
    unmanaged(env: { "JRESTART_LIMIT" => "1/900" }) do |port, old_pid, marker|
      reply = body(port, "/restart-now?hang=1&ready_timeout=8")
      expect(reply).to match(/\Araised JRestart::Error: the new JVM \(pid (\d+)\) was not ready within 8 s \(ready_timeout:\), and was stopped: exited with status 143; this JVM goes on serving as before/)
      late = Integer(reply[/pid (\d+)/, 1])
      expect(alive?(late)).to be(false)
      expect(leftovers(marker)).to eq([old_pid])
      expect(request(port)).to match([:ok, old_pid, be_a(Float)])
      # The guard counted that attempt: a second one within the window is refused before anything starts.
      expect(body(port, "/restart-now")).to match(/\Araised JRestart::RestartLoop: .*restart/i)
      expect(leftovers(marker)).to eq([old_pid])
    end
  end

  it "rewrites the init script's pid file with the new JVM's pid: status and stop find the new JVM" do
    # Under /run, where an init script keeps its pid file: the restart finds it there by itself.
    Dir.mktmpdir("jrestart-overlap-", "/run") do |dir|
      port = JRestartSpec::Loopback.free_port
      @events = File.join(dir, "events.log")
      init = JRestartSpec::Supervised.create("init.d", dir, port, service: OVERLAP_SCRIPT,
                                                                  env: { "OVERLAP_LOG" => @events })
      begin
        expect(init.start).to be(true)
        old_pid = init.answering_pid
        pidfile = File.join(dir, "demo-service.pid")
        expect(File.read(pidfile).to_i).to eq(old_pid)
        plan = JSON.parse(body(port, "/plan"))
        expect(plan["pidfile"]).to eq(pidfile)
        expect(plan["overlap"]).to include("the pid file #{pidfile} names this JVM")

        run = overlap_under_load(port, old_pid) { !alive?(old_pid) }
        fresh = run[:fresh]
        report(overlap_report("init script with a pid file", run))
        expect(run[:failed]).to be_empty
        expect(run[:slow]).to match([:ok, old_pid, be > 1.5])
        expect(run[:worst]).to be < run[:took] / 3
        expect(File.read(pidfile)).to eq("#{fresh}\n")
        expect(File.stat(pidfile).mode & 0o777).to eq(0o644)
        out, up = init.status
        expect(up).to eq(fresh), out
        expect(init.stop).to be(true)
        expect(alive?(fresh)).to be(false)
        expect(File.exist?(pidfile)).to be(false)
      ensure
        init.stop
      end
    end
  end

  it "refuses pidfile: that does not name this JVM, before anything starts", :subreaper do
    unmanaged do |port, old_pid, marker|
      Dir.mktmpdir("jrestart-pidfile") do |dir|
        other = File.join(dir, "other.pid")
        File.write(other, "#{old_pid + 1}\n")
        expect(body(port, "/restart-now?pidfile=#{other}")).to eq(
          "raised ArgumentError: pidfile: #{other} names pid #{old_pid + 1}, not this JVM (pid #{old_pid})"
        )
        expect(body(port, "/plan?pidfile=relative.pid")).to eq(
          "raised ArgumentError: pidfile: must be an absolute path, got relative.pid"
        )
        mine = File.join(dir, "mine.pid")
        File.write(mine, "#{old_pid}\n")
        File.symlink(mine, File.join(dir, "link.pid"))
        expect(body(port, "/plan?pidfile=#{dir}/link.pid")).to eq(
          "raised ArgumentError: pidfile: #{dir}/link.pid is not a regular file (missing, or a symlink)"
        )
        expect(JSON.parse(body(port, "/plan?pidfile=#{mine}"))["pidfile"]).to eq(mine)
        expect(leftovers(marker)).to eq([old_pid])
      end
    end
  end

  %w[supervisord runit daemontools s6].each do |manager|
    it "is refused under #{manager}, which would start the service again when the old JVM exits" do
      Dir.mktmpdir("jrestart-overlap") do |dir|
        port = JRestartSpec::Loopback.free_port
        @events = File.join(dir, "events.log")
        supervised = JRestartSpec::Supervised.create(manager, dir, port, service: OVERLAP_SCRIPT,
                                                                           env: { "OVERLAP_LOG" => @events })
        begin
          supervised.start
          old_pid = supervised.answering_pid
          expect(old_pid).not_to be_nil
          before = supervised.leftovers.sort
          refusal = /\Araised JRestart::Error: overlap restart refused: #{manager} runs this JVM as .+ and starts it again when it exits: a second JVM would run beside the new one\. restart! without overlap: restarts through #{manager}\z/
          expect(JRestartSpec::Loopback.ask(port, "plan")).to match(refusal)
          expect(JRestartSpec::Loopback.ask(port, "restart-now")).to match(refusal)
          expect(supervised.leftovers.sort).to eq(before)
          expect(supervised.answering_pid).to eq(old_pid)
        ensure
          expect(supervised.stop).to be(true)
        end
      end
    end
  end

  { "as PID 1" => [], "under tini" => %w[tini --] }.each do |where, init|
    it "is refused in a container, #{where}: the namespace dies with its PID 1" do
      skip "unshare --pid needs root" unless Process.uid.zero?
      Dir.mktmpdir("jrestart-overlap") do |dir|
        port = JRestartSpec::Loopback.free_port
        @events = File.join(dir, "events.log")
        argv = ["unshare", "--pid", "--fork", "--mount-proc", *init,
                *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), OVERLAP_SCRIPT]
        unshare = JRestart.launch(*argv, env: { "DEMO_PORT" => port.to_s, "OVERLAP_LOG" => @events },
                                         log: File.join(dir, "service.log"))
        begin
          wait_until(timeout: 120, interval: 0.2, message: "the service in the namespace") do
            JRestartSpec::Loopback.ask(port, "pid") || (unshare.exited? && raise(File.read(File.join(dir, "service.log"))))
          end
          refusal = /\Araised JRestart::Error: overlap restart refused: this JVM's container ends with its PID 1 \(.+\): when PID 1 of a pid namespace exits, the kernel kills every process in it, the new JVM too\. restart! without overlap: restarts in place\z/
          expect(JRestartSpec::Loopback.ask(port, "plan")).to match(refusal)
          expect(JRestartSpec::Loopback.ask(port, "restart-now")).to match(refusal)
          expect(events.grep(/ listening /).size).to eq(1)
        ensure
          kill_all(children_of(unshare.pid))
          expect(unshare.wait(30)).not_to be_nil
        end
      end
    end
  end

  it "is refused when the memory cannot hold a second JVM, with the figures", :subreaper do
    memory = "/sys/fs/cgroup/memory"
    skip "no cgroup v1 memory controller here (#{memory})" unless File.directory?(memory) && Process.uid.zero?
    unmanaged do |port, old_pid, marker|
      group = File.join(memory, "jrestart-overlap-#{Process.pid}")
      Dir.mkdir(group)
      begin
        File.write(File.join(group, "cgroup.procs"), old_pid.to_s)
        usage = Integer(File.read(File.join(group, "memory.usage_in_bytes")))
        # Room for this JVM to go on, not for a second one.
        File.write(File.join(group, "memory.limit_in_bytes"), (usage + 64 * 1024 * 1024).to_s)
        reply = body(port, "/restart-now")
        expect(reply).to match(%r{\Araised JRestart::Error: overlap restart refused: a second JVM needs about \d+ MiB \(this JVM's committed heap \d+ MiB of -Xmx \d+ MiB, non-heap \d+ MiB\), but only \d+ MiB are free \(MemAvailable \d+ MiB; cgroup #{group} memory.limit_in_bytes \d+ MiB, memory.usage_in_bytes \d+ MiB\)})
        report("overlap refused for memory: #{reply[/needs about .*/]}")
        expect(leftovers(marker)).to eq([old_pid])
        expect(request(port)).to match([:ok, old_pid, be_a(Float)])
      ensure
        File.write(File.join(memory, "cgroup.procs"), old_pid.to_s) if alive?(old_pid)
        Dir.rmdir(group)
      end
    end
  end
end
