# frozen_string_literal: true

require "etc"
require "fileutils"
require "tmpdir"
require_relative "../support/guard_probe_client"

# The state files (issue 17): every file of the guard, the record and the
# start limit goes through one hardened primitive; a JVM that no restart
# started writes nothing; a damaged record is ignored with one warning; the
# state directory is nobody else's to read; a squatted /var/tmp fallback is
# stepped around. Real JVMs (spec/support/guard_probe.rb), real files, real
# users where another uid matters.
RSpec.describe "the state files" do
  def mode(path)
    File.lstat(path).mode & 0o7777
  end

  # A state directory of its own (0700) and a restart command that does nothing.
  def environment(state)
    { "STATE_DIRECTORY" => state, "XDG_STATE_HOME" => nil, "JRESTART_LIMIT" => "5/900",
      "JRESTART_COMMAND" => "/bin/true" }
  end

  def with_probe(env, **options)
    probe = JRestartSpec::GuardProbe.new(env, **options)
    yield probe.ready
  ensure
    probe&.close
  end

  # Each entry of dir with its mtime and size: what a JVM must leave as it was.
  def snapshot(dir)
    Dir.children(dir).sort.to_h { |name| [name, File.lstat(File.join(dir, name)).then { |s| [s.mtime, s.size] }] }
  end

  it "a JVM that no restart started writes nothing in the state directory, not even a lock" do
    Dir.mktmpdir("jrestart-state-files") do |dir|
      state = File.join(dir, "state")
      Dir.mkdir(state, 0o700)
      with_probe(environment(state)) do |probe|
        expect(probe.ask("record")).to eq("record" => nil)
        expect(Dir.children(state)).to eq([])
        # A restart writes its record (and takes the lock); the JVM it starts claims the record.
        expect(probe.ask("restart")).to include("pid")
      end
      with_probe(environment(state)) do |probe|
        expect(probe.ask("record")["record"]).to include("reason" => "guard spec")
      end
      # A third JVM finds a record that is done: it reads it and writes nothing.
      before = snapshot(state)
      expect(before.keys.grep(/\.record\z/).size).to eq(1)
      with_probe(environment(state)) do |probe|
        expect(probe.ask("record")).to eq("record" => nil)
        expect(probe.warnings).to eq([])
      end
      expect(snapshot(state)).to eq(before)
      report("state directory after 3 JVMs and 1 restart: #{before.keys.join(", ")}")
    end
  end

  # The record of a real restart, then damaged in one field per JVM: each JVM
  # loads jrestart, says so once naming the file, and has no last_restart.
  it "a huge or corrupt record: require \"jrestart\" works, one warning names the file and the field, last_restart nil" do
    Dir.mktmpdir("jrestart-state-files") do |dir|
      template = File.join(dir, "template")
      Dir.mkdir(template, 0o700)
      with_probe(environment(template)) { |probe| expect(probe.ask("restart")).to include("pid") }
      record = Dir.glob(File.join(template, "*.record")).first
      text = File.read(record)
      expect(text).to include("state=pending", "command.size=1")
      damaged = {
        "intact" => text,
        "command.size=2147483647" => text.sub(/^command\.size=\d+$/, "command.size=2147483647"),
        "command.size=-1" => text.sub(/^command\.size=\d+$/, "command.size=-1"),
        "command.size=3, one word" => text.sub(/^command\.size=\d+$/, "command.size=3"),
        "no previous_pid" => text.sub(/^previous_pid=.*\n/, ""),
        "mechanism=teleport" => text.sub(/^mechanism=.*$/, "mechanism=teleport"),
        "requested_at=soon" => text.sub(/^requested_at=.*$/, "requested_at=soon"),
        "2 MiB long" => text + "#{"#" * (2 * 1024 * 1024)}\n"
      }
      states = damaged.to_h do |label, content|
        state = File.join(dir, label.tr("^a-z0-9", "_"))
        Dir.mkdir(state, 0o700)
        File.write(File.join(state, File.basename(record)), content, perm: 0o600)
        [label, state]
      end
      probes = states.transform_values { |state| JRestartSpec::GuardProbe.new(environment(state)) }
      begin
        outcomes = probes.to_h do |label, probe|
          # 8 JVMs boot at once here, on machines with 2 cores that other jobs share: more time than for one.
          probe.ready(timeout: 240)
          [label, [probe.ask("record")["record"], probe.warnings]]
        end
        expect(outcomes["intact"]).to match([include("reason" => "guard spec", "previous_pid" => Integer), []])
        outcomes.except("intact").each do |label, (last, warnings)|
          expect(last).to be_nil, "#{label}: #{last.inspect}"
          expect(warnings.size).to eq(1), "#{label}: #{warnings.inspect}"
          expect(warnings.first).to include(File.join(states[label], File.basename(record)))
          report("#{label}: #{warnings.first}")
        end
        expect(outcomes["command.size=2147483647"].last.first).to include("command.size")
        # The service goes on: a restart still passes, and its record replaces the damaged one.
        expect(probes["command.size=2147483647"].ask("restart")).to include("pid")
        expect(File.read(File.join(states["command.size=2147483647"], File.basename(record))))
          .to include("command.size=1")
      ensure
        probes.each_value(&:close)
      end
    end
  end

  it "a state directory readable by others (systemd's StateDirectory= is 0755) is made 0700 at the restart, saying so" do
    Dir.mktmpdir("jrestart-state-files") do |dir|
      state = File.join(dir, "state")
      Dir.mkdir(state)
      File.chmod(0o755, state)
      xdg = File.join(dir, "xdg")
      FileUtils.mkdir_p(File.join(xdg, "jrestart"))
      File.chmod(0o755, File.join(xdg, "jrestart"))
      with_probe(environment(state)) do |probe|
        # Loading reads, and changes nothing.
        expect(mode(state)).to eq(0o755)
        expect(probe.ask("restart")).to include("pid")
        expect(mode(state)).to eq(0o700)
        Dir.children(state).each { |name| expect(mode(File.join(state, name))).to eq(0o600), name }
        expect(probe.warnings.size).to eq(1), probe.warnings.inspect
        expect(probe.warnings.first).to include(state, "0700")
        report("STATE_DIRECTORY at 0755: #{probe.warnings.first}")
        expect(probe.ask("restart")).to include("pid")
        expect(probe.warnings.size).to eq(1)
      end
      with_probe(environment(nil).merge("XDG_STATE_HOME" => xdg)) do |probe|
        expect(probe.ask("restart")).to include("pid")
        expect(mode(File.join(xdg, "jrestart"))).to eq(0o700)
        expect(probe.warnings.join).to include(File.join(xdg, "jrestart"))
      end
    end
  end

  context "another user" do
    before do
      skip "useradd and setpriv need root" unless Process.uid.zero?
      @users = %w[jrsvictim jrsattacker]
      @users.each do |user|
        system("userdel", user, err: File::NULL)
        expect(system("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user)).to be(true)
      end
      @victim = Etc.getpwnam("jrsvictim").uid
    end

    after do
      if @users
        FileUtils.rm_rf(Dir.glob("/var/tmp/jrestart-#{@victim}{,-*}")) if @victim
        @users.each { |user| system("userdel", user) }
      end
    end

    def as(user, *argv)
      system("/usr/bin/setpriv", "--reuid=#{user}", "--regid=#{user}", "--clear-groups", "--", *argv)
    end

    it "squats /var/tmp/jrestart-UID first: the victim's restart! passes in a fresh 0700 directory of its own, which the next JVM finds" do
      plain = "/var/tmp/jrestart-#{@victim}"
      expect(as("jrsattacker", "/bin/mkdir", "-m", "0777", plain)).to be(true)
      # A name that sorts before any random one, pre-empted too.
      expect(as("jrsattacker", "/bin/mkdir", "-m", "0700", "#{plain}-0")).to be(true)
      env = { "PATH" => "/usr/bin:/bin", "JRESTART_COMMAND" => "/bin/true", "JRESTART_LIMIT" => "1/900" }
      used = nil
      with_probe(env, user: "jrsvictim") do |probe|
        outcome = probe.ask("restart")
        expect(outcome).to include("pid"), outcome.inspect
        used = probe.ask("info")["state_directory"]
        expect(used).to start_with("#{plain}-")
        expect(used).not_to eq("#{plain}-0")
        stat = File.lstat(used)
        expect([stat.uid, stat.mode & 0o7777, stat.directory?]).to eq([@victim, 0o700, true])
        expect(Dir.glob(File.join(used, "*.restarts")).size).to eq(1)
        expect(probe.warnings.join("\n")).to include(plain)
        report("squatted #{plain}: #{probe.warnings.first}")
      end
      # The next JVM of the victim counts on in the same directory: with a limit of 1, it is refused.
      with_probe(env, user: "jrsvictim") do |probe|
        expect(probe.ask("info")["state_directory"]).to eq(used)
        expect(probe.ask("restart")).to include("error" => "JRestart::RestartLoop")
      end
      expect(Dir.children(plain)).to eq([])
      expect(Dir.glob("#{plain}-*").size).to eq(2)
    end
  end
end
