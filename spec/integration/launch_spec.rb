# frozen_string_literal: true

# A real JRuby service holding real sockets starts real commands; every check
# is made from outside, on the started command's /proc entry. Every guarantee
# holds for both strategies.
STRATEGIES = %w[:spawn :fork].freeze
# Signals 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID): its posix_spawn
# leaves them ignored in every child, even from C. Nothing else may be.
GLIBC_INTERNAL_SIGNALS = (1 << 31) | (1 << 32)

STRATEGIES.each do |name|
  RSpec.describe "JRestart.launch(strategy: #{name}) from a JRuby service" do
    let(:strategy) { name }
    before(:all) { @service = JRestartSpec::Processes::Service.new(nohup: true) }
    after(:all) { @service&.stop }

    let(:service) { @service }
    let(:started) { [] }

    after do
      started.each { |pid| kill_and_reap(pid) if alive?(pid) }
    end

    def launch(*argv, **options)
      reply = service.call("launch", argv: argv, options: { strategy: strategy, **options })
      raise "#{reply["error"]}: #{reply["message"]}" if reply["error"]

      started << reply["pid"]
      reply["pid"]
    end

    def sleeper(**options)
      wait_until_sleeping(launch("/bin/sleep", "60", **options))
    end

    it "runs a service that really holds the descriptors the child must not get" do
      targets = fds_above_2(service.pid).map(&:last)
      %w[@tcp @unix @file @pipe].each do |name|
        expect(targets).to include(service.held[name]["target"])
      end
    end

    it "gives the command no descriptor above 2 (close: :all)" do
      pid = sleeper
      expect(fds_above_2(pid)).to eq([])
    end

    it "keeps exactly the descriptors in keep:, even close-on-exec ones" do
      pid = sleeper(keep: ["@tcp", "@file"])
      held = service.held
      expect(fds_above_2(pid)).to eq([[held["@tcp"]["fd"], held["@tcp"]["target"]],
                                      [held["@file"]["fd"], held["@file"]["target"]]].sort)
    end

    it "withholds only sockets with close: :sockets" do
      inheritable = service.call("fds")["fds"].reject { |fd| fd["cloexec"] }.map { |fd| fd["target"] }
      expect(inheritable.grep(/\Asocket:/)).not_to be_empty, "precondition: the JVM holds inheritable sockets"

      pid = sleeper(close: ":sockets")
      # Files the JVM opens for a moment under /sys and /proc (cgroup metrics) may be passed on too.
      targets = own_targets(fds_above_2(pid).map(&:last))
      expect(targets.grep(/\Asocket:/)).to eq([])
      # What is left is what close: :all would have withheld too: the JVM's own
      # files, opened without close-on-exec.
      expect(targets).not_to be_empty
      expect(targets - inheritable).to eq([])
    end

    it "keeps a socket listed in keep: with close: :sockets" do
      pid = sleeper(close: ":sockets", keep: ["@unix"])
      expect(fds_above_2(pid).map(&:last).grep(/\Asocket:/)).to eq([service.held["@unix"]["target"]])
    end

    it "puts stdin, stdout and stderr on /dev/null" do
      pid = sleeper
      expect((0..2).map { |fd| File.readlink("/proc/#{pid}/fd/#{fd}") }).to eq(["/dev/null"] * 3)
    end

    it "starts the command in a new session and process group, with cwd /" do
      pid = sleeper
      expect(session_of(pid)).to eq(pid)
      expect(Integer(proc_stat(pid)[2])).to eq(pid)
      expect(session_of(pid)).not_to eq(session_of(service.pid))
      expect(File.readlink("/proc/#{pid}/cwd")).to eq("/")
    end

    it "honours chdir:" do
      pid = sleeper(chdir: "/tmp")
      expect(File.readlink("/proc/#{pid}/cwd")).to eq("/tmp")
    end

    it "starts the command with no blocked and no ignored signal, though the JVM ignores SIGHUP" do
      # The service runs under nohup, as many are started by hand.
      expect(Integer(service.sigign, 16) & (1 << 0)).not_to eq(0), "precondition: the JVM ignores SIGHUP"

      pid = sleeper
      expect(Integer(proc_status(pid, "SigBlk"), 16)).to eq(0)
      expect(Integer(proc_status(pid, "SigIgn"), 16) & ~GLIBC_INTERNAL_SIGNALS).to eq(0)
    end

    it "passes arguments as an argv, untouched by any shell" do
      args = ["a b", "$HOME", "`id`", "x;y", "'\"", "*"]
      pid = launch("/bin/sh", "-c", "sleep 60", "sh", *args)
      # launch returns once the exec has begun (the vfork's release, the status
      # pipe's close-on-exec), which is before the kernel has set up the new argv.
      cmdline = ""
      wait_until(message: "pid #{pid}'s argv") { !(cmdline = File.read("/proc/#{pid}/cmdline")).empty? }
      expect(cmdline.split("\0")).to eq(["/bin/sh", "-c", "sleep 60", "sh", *args])
    end

    it "looks a bare command name up in PATH and runs what it found" do
      reply = service.call("launch", argv: ["sleep", "60"], options: { strategy: strategy })
      started << reply["pid"]
      expect(reply["path"]).to match(%r{\A/(usr/)?bin/sleep\z})
      expect(File.readlink("/proc/#{reply["pid"]}/exe")).to eq(File.realpath(reply["path"]))
    end

    it "reaps the command in the background: no zombie" do
      pid = launch("/bin/true")
      wait_until(message: "/bin/true to be reaped") { !File.exist?("/proc/#{pid}") }
      expect(File.exist?("/proc/#{pid}")).to be(false)
    end

    it "reports the command's exit status and signal through Launch#wait" do
      exited = launch("/bin/sh", "-c", "exit 3")
      expect(service.call("wait", pid: exited, timeout: 30)).to eq("exitstatus" => 3, "termsig" => nil)
      killed = launch("/bin/sh", "-c", "kill -TERM $$")
      expect(service.call("wait", pid: killed, timeout: 30)).to eq("exitstatus" => nil, "termsig" => 15)
      running = sleeper
      expect(service.call("wait", pid: running, timeout: 0.2)).to eq("timeout" => true)
    end

    it "appends stdout and stderr to log:, creating it 0640" do
      Dir.mktmpdir do |dir|
        log = File.join(dir, "restart.log")
        2.times do |i|
          pid = launch("/bin/sh", "-c", "echo out #{i}; echo err #{i} >&2", log: log)
          expect(service.call("wait", pid: pid, timeout: 30)).to include("exitstatus" => 0)
        end
        expect(File.read(log)).to eq("out 0\nerr 0\nout 1\nerr 1\n")
        expect(File.stat(log).mode & 0o777).to eq(0o640 & ~File.umask)
      end
    end

    it "starts the command no earlier than delay:, while launch returns at once" do
      Dir.mktmpdir do |dir|
        stamp = File.join(dir, "started")
        before = Time.now.to_f
        pid = launch("/bin/sh", "-c", "date +%s.%N > #{stamp}", delay: 1.5)
        expect(File.exist?(stamp)).to be(false)
        expect(service.call("wait", pid: pid, timeout: 30)).to include("exitstatus" => 0)
        expect(Float(File.read(stamp)) - before).to be >= 1.5
      end
    end

    it "gives the command exactly the descriptors JRestart.plan said it would" do
      own = ->(fds) { fds.reject { |_, target| jvm_transient?(target) } }
      [{}, { keep: ["@tcp", "@file"] }, { close: ":sockets" }, { close: ":sockets", keep: ["@unix"] }].each do |options|
        reply = service.call("plan_and_execute", argv: ["/bin/sleep", "60"],
                                                 options: { strategy: strategy, **options })
        started << reply["pid"]
        wait_until_sleeping(reply["pid"])
        expect(own.(fds_above_2(reply["pid"]))).to eq(own.(reply["inherited"])), options.inspect
      end
    end

    it "reports a failed exec as Errno with the command, and starts nothing" do
      Dir.mktmpdir do |dir|
        # Executable by its mode, but neither an ELF file nor a script: only execve itself can refuse it.
        junk = File.join(dir, "junk")
        File.binwrite(junk, "\x00\x01\x02 not a program")
        File.chmod(0o755, junk)
        reply = service.call("launch", argv: [junk], options: { strategy: strategy })
        expect(reply).to include("error" => "Errno::ENOEXEC")
        expect(reply["message"]).to include(junk)
        expect(service.serving_pid).to eq(service.pid)
      end
    end

    it "still serves after launching" do
      sleeper
      expect(service.serving_pid).to eq(service.pid)
    end
  end

  RSpec.describe "a command launched (strategy: #{name}) by a service that is then killed", :subreaper do
    let(:strategy) { name }
    after { @service&.stop }

    it "outlives a SIGKILL of the JVM sent right after launch returns, and the port is free again" do
      @service = JRestartSpec::Processes::Service.new
      port = @service.port
      Dir.mktmpdir do |dir|
        mark = File.join(dir, "done")
        reply = @service.call("launch", argv: ["/bin/sh", "-c", "sleep 2; echo survived > #{mark}"],
                                        options: { strategy: strategy })
        @service.kill9
        # The launched command is now an orphan, re-parented to this JVM (a subreaper here), and runs on.
        expect(alive?(reply["pid"])).to be(true)
        expect { TCPServer.new("127.0.0.1", port).close }.not_to raise_error
        Timeout.timeout(30) { Process.wait(reply["pid"]) }
        expect(File.read(mark)).to eq("survived\n")
      end
    end

    it "runs a delayed command even when the JVM is killed during the delay" do
      @service = JRestartSpec::Processes::Service.new
      Dir.mktmpdir do |dir|
        mark = File.join(dir, "done")
        reply = @service.call("launch", argv: ["/bin/sh", "-c", "echo ran > #{mark}"],
                                        options: { delay: 1, strategy: strategy })
        @service.kill9
        expect(File.exist?(mark)).to be(false)
        Timeout.timeout(30) { Process.wait(reply["pid"]) }
        expect(File.read(mark)).to eq("ran\n")
      end
    end
  end
end
