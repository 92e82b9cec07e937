# frozen_string_literal: true

require "json"
require "shellwords"
require "tempfile"
require "timeout"
require "tmpdir"
require_relative "../support/guard_probe_client"
require_relative "../support/supervised"

# The restart-loop guard (issue 12): restart! counts the restarts of a service
# in a state file that outlives the JVM and refuses once the limit is reached,
# the service untouched. Every example has a fresh state directory of its own.
RSpec.describe "the restart-loop guard" do
  # Yields [dir, env]: a run directory, and the probe's environment: a fresh
  # state directory (0700), no JRESTART_LIMIT, and a restart command that adds
  # a line to dir/starts each time it runs.
  def in_run
    Dir.mktmpdir("jrestart-guard") do |dir|
      state = File.join(dir, "state")
      Dir.mkdir(state, 0o700)
      starts = File.join(dir, "starts")
      env = { "STATE_DIRECTORY" => state, "JRESTART_LIMIT" => nil, "XDG_STATE_HOME" => nil,
              "JRESTART_COMMAND" => "/bin/sh -c #{Shellwords.escape("echo started >> #{Shellwords.escape(starts)}")}" }
      yield dir, env
    end
  end

  def with_probe(env, prefix: [])
    probe = JRestartSpec::GuardProbe.new(env, prefix: prefix)
    yield probe.ready
  ensure
    probe&.close
  end

  def starts(dir)
    path = File.join(dir, "starts")
    File.exist?(path) ? File.readlines(path).size : 0
  end

  # The one counting file in dir (the guard's state for the one service there).
  def restarts_file(dir)
    files = Dir.glob(File.join(dir, "*.restarts"))
    expect(files.size).to eq(1), "expected one .restarts file in #{dir}: #{Dir.children(dir)}"
    files.first
  end

  # The probe's warning line that names path.
  def warning_about(probe, path)
    line = probe.stderr.lines.find { |l| l.start_with?("jrestart: ") && l.include?(path) }
    expect(line).not_to be_nil, "no warning naming #{path} on stderr:\n#{probe.stderr}"
    line.strip
  end

  def mode(path)
    File.lstat(path).mode & 0o7777
  end

  it "under runit: 5 restarts pass, the 6th within 900 s is refused and the same pid keeps answering" do
    skip "runsv is not installed (apt-get install runit); CI installs it" unless system("command -v runsv >/dev/null") || ENV["CI"]

    Dir.mktmpdir("jrestart-guard-runit") do |dir|
      supervised = JRestartSpec::Supervised.create("runit", dir, JRestartSpec::Loopback.free_port,
                                                   env: { "JRESTART_LIMIT" => nil })
      begin
        expect(supervised.start).to be_truthy
        pid = supervised.answering_pid
        expect(pid).to be_a(Integer)
        5.times do |i|
          round = supervised.restart(pid, reason: "guard spec round #{i + 1}")
          expect(round[:error]).to be_nil, "restart #{i + 1}: #{round[:error]}"
          pid = round[:new_pid]
        end
        wait_until(message: "runit to report pid #{pid} up") { supervised.status.last == pid }

        answer = JRestartSpec::Loopback.ask(supervised.port, "restart guard spec round 6")
        expect(answer).to start_with("error JRestart::RestartLoop: ")
        message = answer.delete_prefix("error JRestart::RestartLoop: ")
        expect(message).to match(/\b5\b/).and match(/\b900\b/).and include(restarts_file(supervised.state_dir))
        # Nothing restarts: the same JVM answers, and runit still reports it up.
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 4
        while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
          expect(JRestartSpec::Loopback.ask(supervised.port, "pid")).to eq(pid.to_s)
          sleep 0.2
        end
        expect(supervised.status.last).to eq(pid)
        report("the 6th restart! under runit raised JRestart::RestartLoop: #{message}")
      ensure
        expect(supervised.stop).to be(true)
      end
    end
  end

  it "8 JVMs of one service calling restart! at the same moment: exactly 5 pass, 3 are refused" do
    in_run do |dir, env|
      probes = []
      begin
        # All JVMs start before any is waited for: they boot in parallel.
        8.times { probes << JRestartSpec::GuardProbe.new(env.merge("JRESTART_LIMIT" => "5/900")) }
        # 8 JRuby boots at once on a small machine: minutes under load, not seconds.
        probes.each { |probe| probe.ready(timeout: 240) }
        barrier = File.join(dir, "go")
        probes.each { |probe| probe.send_line("barrier #{barrier}") }
        sleep 0.5
        File.write(barrier, "")
        outcomes = probes.map(&:reply)
        passed = outcomes.select { |o| o["pid"] }
        refused = outcomes.select { |o| o["error"] == "JRestart::RestartLoop" }
        expect([passed.size, refused.size]).to eq([5, 3]), outcomes.inspect
        expect(starts(dir)).to eq(5)
        # One restart time a line, after a header and the service's name.
        times = File.readlines(restarts_file(env.fetch("STATE_DIRECTORY"))).grep(/\A\d+\n\z/)
        expect(times.size).to eq(5)
        # The state agrees: a 9th restart is refused too.
        with_probe(env.merge("JRESTART_LIMIT" => "5/900")) do |probe|
          expect(probe.ask("restart")).to include("error" => "JRestart::RestartLoop")
        end
        expect(starts(dir)).to eq(5)
        report("8 concurrent restart!: #{passed.size} passed, #{refused.size} refused")
      ensure
        probes.each(&:close)
      end
    end
  end

  it "a corrupt .restarts file: a warning naming it, the restart passes, and a fresh file goes on counting" do
    in_run do |dir, env|
      state = env.fetch("STATE_DIRECTORY")
      with_probe(env.merge("JRESTART_LIMIT" => "2/900")) do |probe|
        expect(probe.ask("restart")).to include("pid")
        file = restarts_file(state)
        File.binwrite(file, "\x00\xFFnot a count {[\n" * 3)
        expect(probe.ask("restart")).to include("pid")
        warning = warning_about(probe, file)
        expect(File.lstat(file)).to be_file
        expect(mode(file)).to eq(0o600)
        expect(mode(state)).to eq(0o700)
        # The fresh file holds the restart that replaced it: one more passes, then the limit.
        expect(probe.ask("restart")).to include("pid")
        expect(probe.ask("restart")).to include("error" => "JRestart::RestartLoop")
        expect(probe.stderr.lines.count { |l| l.start_with?("jrestart: ") }).to eq(1)
        expect(starts(dir)).to eq(3)
        report("corrupt state file: #{warning}")
      end
    end
  end

  it "a .restarts symlinked to a file outside: a warning, its target untouched, a regular file 0600 in its place" do
    in_run do |dir, env|
      state = env.fetch("STATE_DIRECTORY")
      victim = File.join(dir, "victim")
      File.write(victim, "not jrestart's\n")
      File.chmod(0o644, victim)
      with_probe(env.merge("JRESTART_LIMIT" => "2/900")) do |probe|
        expect(probe.ask("restart")).to include("pid")
        file = restarts_file(state)
        # The record's key is the JVM's own command line here (no manager), not the restart command.
        records = Dir.glob(File.join(state, "*.record"))
        expect(records.size).to eq(1), Dir.children(state).inspect
        record = records.first
        [file, record].each do |path|
          File.unlink(path)
          File.symlink(victim, path)
        end
        before = File.stat(victim)
        expect(probe.ask("restart")).to include("pid")
        warning = warning_about(probe, file)
        expect(File.read(victim)).to eq("not jrestart's\n")
        expect([File.stat(victim).mtime, File.stat(victim).mode & 0o7777]).to eq([before.mtime, 0o644])
        [file, record].each do |path|
          expect(File.lstat(path)).to be_file
          expect(mode(path)).to eq(0o600)
        end
        # As with a corrupt file: the fresh file holds the restart that replaced it.
        expect(probe.ask("restart")).to include("pid")
        expect(probe.ask("restart")).to include("error" => "JRestart::RestartLoop")
        report("symlinked state file: #{warning}")
      end
    end
  end

  it "a STATE_DIRECTORY that is a symlink is not used: a warning, and the next candidate" do
    in_run do |dir, env|
      target = File.join(dir, "elsewhere")
      Dir.mkdir(target, 0o700)
      link = File.join(dir, "linked-state")
      File.symlink(target, link)
      xdg = File.join(dir, "xdg")
      with_probe(env.merge("STATE_DIRECTORY" => link, "XDG_STATE_HOME" => xdg)) do |probe|
        expect(probe.ask("restart")).to include("pid")
        warning_about(probe, link)
        expect(probe.ask("info")).to include("state_directory" => File.join(xdg, "jrestart"))
        expect(mode(File.join(xdg, "jrestart"))).to eq(0o700)
        restarts_file(File.join(xdg, "jrestart"))
        expect(Dir.children(target)).to be_empty
      end
    end
  end

  context "unwritable state directories (read-only bind mounts in a mount namespace of the JVM's own)" do
    before do
      skip "unshare --mount needs root" unless Process.uid.zero?
      skip "unshare is missing (apt-get install util-linux)" unless system("command -v unshare >/dev/null") || ENV["CI"]
    end

    # unshare, then read-only bind mounts of dirs, then the JVM.
    def read_only(*dirs)
      script = 'while [ "$1" != -- ]; do mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 1; ' \
               'shift; done; shift; exec "$@"'
      ["unshare", "--mount", "/bin/sh", "-c", script, "sh", *dirs, "--"]
    end

    it "a read-only STATE_DIRECTORY: a warning naming it, and the state goes to the next candidate" do
      in_run do |dir, env|
        state = env.fetch("STATE_DIRECTORY")
        xdg = File.join(dir, "xdg")
        with_probe(env.merge("XDG_STATE_HOME" => xdg), prefix: read_only(state)) do |probe|
          expect(probe.ask("restart")).to include("pid")
          report("read-only STATE_DIRECTORY: #{warning_about(probe, state)}")
          expect(probe.ask("info")).to include("state_directory" => File.join(xdg, "jrestart"))
          restarts_file(File.join(xdg, "jrestart"))
          expect(Dir.children(state)).to be_empty
          expect(starts(dir)).to eq(1)
        end
      end
    end

    it "no writable candidate at all: JRestart::Error naming them, and nothing starts" do
      in_run do |dir, env|
        state = env.fetch("STATE_DIRECTORY")
        home = File.join(dir, "home")
        Dir.mkdir(home, 0o700)
        with_probe(env.merge("XDG_STATE_HOME" => File.join(home, "xdg"), "HOME" => home),
                   prefix: read_only(state, home, "/var/tmp")) do |probe|
          outcome = probe.ask("restart")
          expect(outcome).to include("error" => "JRestart::Error")
          expect(outcome["message"]).to include(state).and include("/var/tmp/jrestart-0")
          expect(starts(dir)).to eq(0)
          report("no usable state directory: #{outcome["message"]}")
        end
      end
    end
  end

  it "JRESTART_LIMIT=off: 7 restarts in a row pass and nothing is counted" do
    in_run do |dir, env|
      with_probe(env.merge("JRESTART_LIMIT" => "off")) do |probe|
        expect(probe.ask("info")).to include("restart_limit" => nil)
        7.times { expect(probe.ask("restart")).to include("pid") }
        expect(starts(dir)).to eq(7)
        expect(Dir.glob(File.join(env.fetch("STATE_DIRECTORY"), "*.restarts"))).to be_empty
      end
    end
  end

  it "JRestart.restart_limit = nil wins over JRESTART_LIMIT; :default goes back to it, and the count starts afresh" do
    in_run do |dir, env|
      with_probe(env.merge("JRESTART_LIMIT" => "2/900")) do |probe|
        expect(probe.ask("info")).to include("restart_limit" => [2, 900])
        expect(probe.ask("limit off")).to eq("restart_limit" => nil)
        7.times { expect(probe.ask("restart")).to include("pid") }
        expect(probe.ask("limit default")).to eq("restart_limit" => [2, 900])
        2.times { expect(probe.ask("restart")).to include("pid") }
        expect(probe.ask("restart")).to include("error" => "JRestart::RestartLoop")
        expect(starts(dir)).to eq(9)
      end
    end
  end

  it "an invalid JRESTART_LIMIT: restart! raises ArgumentError naming it, and nothing starts" do
    in_run do |dir, env|
      with_probe(env.merge("JRESTART_LIMIT" => "5 per 900")) do |probe|
        outcome = probe.ask("restart!")
        expect(outcome).to include("error" => "ArgumentError")
        expect(outcome["message"]).to include("JRESTART_LIMIT").and include("5 per 900")
        expect(starts(dir)).to eq(0)
      end
    end
  end

  it "a clean run resets the count: with JRESTART_LIMIT=2/3, the 3rd restart is refused, and passes once the window is over" do
    in_run do |dir, env|
      with_probe(env.merge("JRESTART_LIMIT" => "2/3")) do |probe|
        2.times { expect(probe.ask("restart")).to include("pid") }
        refused = probe.ask("restart")
        expect(refused).to include("error" => "JRestart::RestartLoop")
        expect(refused["message"]).to match(/\b2\b/).and match(/\b3\b/)
        sleep 3.5
        expect(probe.ask("restart")).to include("pid")
        expect(starts(dir)).to eq(3)
      end
    end
  end
end
