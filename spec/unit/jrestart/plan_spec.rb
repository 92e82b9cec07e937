# frozen_string_literal: true

require "socket"
require_relative "../../support/jruby"

RSpec.describe "JRestart.plan", :without_restart_command do
  before(:all) { @server = TCPServer.new("127.0.0.1", 0) }
  after(:all) { @server.close }

  def entry(plan, io)
    plan.descriptors.find { |e| e.descriptor.fd == io.fileno }
  end

  it "shows what restart! would run, and starts nothing" do
    children = children_of(Process.pid)
    plan = JRestart.plan("sleep", "30", log: "/tmp/jrestart-plan.log", delay: 2)
    expect(children_of(Process.pid)).to eq(children)
    expect(File.exist?("/tmp/jrestart-plan.log")).to be(false)
    expect(plan.command).to eq(%w[sleep 30])
    expect(plan.path).to match(%r{\A/(usr/)?bin/sleep\z})
    expect(plan.source).to eq(:argument)
    expect(plan.to_h).to include(strategy: :spawn, session: :new, cwd: "/", stdin: "/dev/null",
                                 stdout: "/tmp/jrestart-plan.log (appended)", delay: 2, close: :all)
  end

  it "names the strategy it will use" do
    expect(JRestart.plan("/bin/true").to_s).to match(/^  strategy   posix_spawn: new session/)
    fork = JRestart.plan("/bin/true", strategy: :fork)
    expect(fork.strategy).to eq(:fork)
    expect(fork.to_s).to match(/^  strategy   fork \+ execve: new session/)
  end

  it "withholds every descriptor above 2 with close: :all, listening sockets included, but what keep: names" do
    File.open(__FILE__) do |kept|
      plan = JRestart.plan("/bin/true", keep: [kept])
      expect(entry(plan, @server).fate).to eq(:withheld)
      expect(entry(plan, @server).to_h).to include(local_address: "127.0.0.1:#{@server.addr[1]}", listening: true)
      expect(entry(plan, kept).fate).to eq(:inherited)
      expect(plan.inherited.map(&:fd)).to eq([kept.fileno])
      expect(plan.descriptors.select { |e| e.descriptor.fd <= 2 }.map(&:fate)).to eq(%i[replaced] * 3)
    end
  end

  it "with close: :sockets withholds sockets only, and tells close-on-exec descriptors apart" do
    File.open(__FILE__) do |file|
      { true => :close_on_exec, false => :inherited }.each do |cloexec, fate|
        file.close_on_exec = cloexec
        plan = JRestart.plan("/bin/true", close: :sockets)
        expect(plan.withheld).to all(be_socket)
        expect(plan.withheld.map(&:fd)).to include(@server.fileno)
        expect(entry(plan, file).fate).to eq(fate)
        expect(plan.inherited).to all(satisfy { |d| !d.socket? && !d.close_on_exec? })
      end
    end
  end

  it "says how the command was chosen" do
    ENV["JRESTART_COMMAND"] = "/bin/echo restart"
    plan = JRestart.plan
    expect([plan.command, plan.source, plan.manager]).to eq([%w[/bin/echo restart], :environment, nil])
    expect(plan.to_s).to include("chosen by  JRESTART_COMMAND")
  end

  it "prints a table for irb" do
    text = JRestart.plan("/bin/true").to_s
    expect(text).to start_with("JRestart plan (nothing has been done)\n  command    /bin/true\n")
    expect(text).to match(/^ +#{@server.fileno}  socket .* inet6? 127\.0\.0\.1:#{@server.addr[1]} listening +withheld$/)
  end

  it "raises what launch would raise, before anything" do
    expect { JRestart.plan("/nonexistent/restart") }.to raise_error(Errno::ENOENT, %r{/nonexistent/restart})
    expect { JRestart.plan("/bin/true", clos: :all) }.to raise_error(ArgumentError, /unknown keyword: :clos/)
    expect { JRestart.plan("/bin/true", keep: [65_000]) }.to raise_error(Errno::EBADF, /65000/)
    expect { JRestart.plan("/bin/true", keep: 3) }.to raise_error(TypeError, /keep:/)
  end

  # Found by trying to break it: plan used to give a Plan for each of these,
  # which launch and restart! then refused; Plan#to_s raised NoMethodError for delay: nil.
  it "refuses everything launch refuses, with the same error" do
    [[Errno::ENOENT, %r{chdir /nonexistent}, { chdir: "/nonexistent" }],
     [ArgumentError, /chdir must be an absolute path/, { chdir: "relative" }],
     [Errno::ENOENT, %r{log /nonexistent/x\.log}, { log: "/nonexistent/x.log" }],
     [TypeError, /log:/, { log: 42 }],
     [ArgumentError, /delay: must be a finite number/, { delay: -1 }],
     [TypeError, /delay: must be a number/, { delay: nil }],
     [ArgumentError, /strategy: must be :spawn or :fork, got :vfork/, { strategy: :vfork }],
     [ArgumentError, /close: must be :all or :sockets, got :some/, { close: :some }]].each do |error, message, options|
      expect { JRestart.plan("/bin/true", **options) }.to raise_error(error, message), options.inspect
      expect { JRestart.launch("/bin/true", **options) }.to raise_error(error, message), options.inspect
    end
  end

  # Issue 17 item 9: sleep got "%.3f" of any size, the exec in place slept (long)(delay * 1000)
  # and systemd-run's --on-active overflowed; one maximum now holds for every path.
  describe "delay: at most one day, on every path" do
    it "refuses more, with the limit in the message, for a command and a launch" do
      [86_400.001, 10**9, 1e300].each do |delay|
        message = /delay: must be at most 86400 seconds \(one day\), got .*: a later restart is a schedule/
        expect { JRestart.plan("/bin/true", delay: delay) }.to raise_error(ArgumentError, message), delay.inspect
        expect { JRestart.launch("/bin/true", delay: delay) }.to raise_error(ArgumentError, message), delay.inspect
      end
      expect(JRestart.plan("/bin/true", delay: 86_400).to_s).to match(/delay +86400 s/)
    end
  end

  it "checks the log: without creating it, and refuses what is not a regular file" do
    Dir.mktmpdir do |dir|
      log = File.join(dir, "restart.log")
      expect(JRestart.plan("/bin/true", log: log).stdout).to eq("#{log} (appended)")
      expect(File.exist?(log)).to be(false)
      expect { JRestart.plan("/bin/true", log: dir) }.to raise_error(Errno::EISDIR, /#{dir}/)
      File.mkfifo(File.join(dir, "fifo"))
      expect { JRestart.plan("/bin/true", log: File.join(dir, "fifo")) }.to raise_error(ArgumentError, /is a fifo/)
    end
  end

  it "converts each argument once: an argument whose to_str raises the second time is launched as it was first" do
    flaky = Object.new
    def flaky.to_str
      @calls = (@calls || 0) + 1
      raise "to_str called #{@calls} times" if @calls > 1

      "once"
    end
    plan = JRestart.plan("/bin/echo", flaky)
    launch = plan.execute
    expect(launch.args).to eq(["once"])
    expect(launch.wait(30)).to be_success
  end

  describe "executed as restart! executes it" do
    it "raises JRestart::Error with the status and output (from the log) of a command that fails at once" do
      failing = ["/bin/sh", "-c", "echo 'Failed to restart jsvc.service: Access denied' >&2; exit 4"]
      # A command named by the caller may start the service, which would keep its stdio: /dev/null, no capture.
      expect { JRestart.plan(*failing).execute }
        .to raise_error(JRestart::Error, /failed at once \(exit status 4\).*left as it was\. Its output went to \/dev\/null/)
      Dir.mktmpdir do |dir|
        log = File.join(dir, "restart.log")
        File.write(log, "an earlier line\n")
        expect { JRestart.plan(*failing, log: log).execute }.to raise_error(JRestart::Error) do |e|
          expect(e.message).to match(/failed at once \(exit status 4\).*left as it was.*Access denied/)
          expect(e.message).not_to include("an earlier line")
        end
        expect(File.read(log)).to end_with("Access denied\n")
      end
    end

    it "returns the Launch of a command that succeeds, or is still running after the window" do
      expect(JRestart.plan("/bin/true").execute.wait(5)).to be_success
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      launch = JRestart.plan("/bin/sleep", "30").execute
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be >= 1.9
      expect(launch.exited?).to be(false)
      Process.kill(:KILL, launch.pid)
      expect(launch.wait(30)).to be_signaled
    end

    it "does not watch a command with a delay, nor a launch: their outcome goes to the log" do
      expect(JRestart.plan("/bin/false", delay: 0.1).execute.wait(30).exitstatus).to eq(1)
      expect(JRestart.launch("/bin/false").wait(30).exitstatus).to eq(1)
    end
  end

  it "is what execute (and so restart!) launches" do
    plan = JRestart.plan("/bin/sh", "-c", "exit 0")
    launch = plan.execute
    expect([launch.command, launch.args, launch.path]).to eq(["/bin/sh", ["-c", "exit 0"], plan.path])
    expect(launch.wait(30)).to be_success
  end
end
