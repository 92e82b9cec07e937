# frozen_string_literal: true

require "tmpdir"

# glibc before 2.33 has no fstat symbol, before 2.34 no addclosefrom_np and
# close_range, before 2.29 no addchdir_np, before 2.36 no pidfd_open. The
# service below is told to treat them as absent (jrestart.hide_symbols), so the
# fallbacks run for real on this glibc: __fxstat, one close per listed
# descriptor, cd through /bin/sh, and a reaper thread per child.
RSpec.describe "JRestart on a glibc without fstat, addclosefrom_np, close_range, addchdir_np and pidfd_open" do
  HIDDEN = %w[fstat posix_spawn_file_actions_addclosefrom_np close_range posix_spawn_file_actions_addchdir_np
              pidfd_open].freeze

  before(:all) do
    @service = JRestartSpec::Processes::Service.new(java_properties: { "jrestart.hide_symbols" => HIDDEN.join(",") })
  end
  after(:all) { @service&.stop }

  let(:started) { [] }
  after { started.each { |pid| kill_and_reap(pid) if alive?(pid) } }

  def sleeper(**options)
    reply = @service.call("launch", argv: ["/bin/sleep", "60"], options: options)
    raise "#{reply["error"]}: #{reply["message"]}" if reply["error"]

    started << reply["pid"]
    # Without addchdir_np the command starts as /bin/sh, which changes directory and execs sleep.
    wait_until_sleeping(reply["pid"])
  end

  it "runs the fallbacks (the precondition of the other examples)" do
    expect(@service.call("features")).to include("fstat" => "__fxstat", "closefrom" => false, "chdir" => false,
                                                 "close_range" => false, "reaper" => "thread")
  end

  it "still reaps every command, waited for or not, with a thread each" do
    waited = @service.call("launch", argv: ["/bin/sh", "-c", "exit 3"])
    expect(@service.call("wait", pid: waited["pid"], timeout: 30)).to include("exitstatus" => 3)
    unwaited = @service.call("launch", argv: ["/bin/true"])["pid"]
    wait_until(message: "/bin/true to be reaped") { !File.exist?("/proc/#{unwaited}") }
    sleeping = @service.call("launch", argv: ["/bin/sleep", "60"])["pid"]
    started << sleeping
    expect(@service.call("census")["reapers"]).to be >= 1
    expect(@service.call("wait", pid: sleeping, timeout: 0.1)).to eq("timeout" => true)
  end

  it "reads struct stat through __fxstat" do
    %w[@tcp @unix @file @pipe].each do |name|
      held = @service.held[name]
      reply = @service.call("fstat", name: name)
      expect(reply["ino"]).to eq(File.stat("/proc/#{@service.pid}/fd/#{held["fd"]}").ino)
      expect(reply["socket"]).to eq(name == "@tcp" || name == "@unix")
    end
    expect(@service.call("fstat", name: "@file")["type"]).to eq("file")
  end

  it "still gives the command no descriptor above 2" do
    expect(fds_above_2(sleeper)).to eq([])
  end

  it "still gives a forked command no descriptor above 2 but what keep: names" do
    held = @service.held["@tcp"]
    expect(fds_above_2(sleeper(strategy: ":fork"))).to eq([])
    expect(fds_above_2(sleeper(strategy: ":fork", keep: ["@tcp"]))).to eq([[held["fd"], held["target"]]])
  end

  it "still keeps exactly what keep: names" do
    held = @service.held["@tcp"]
    expect(fds_above_2(sleeper(keep: ["@tcp"]))).to eq([[held["fd"], held["target"]]])
  end

  it "still sets the cwd, the session and the signals" do
    pid = sleeper(chdir: "/tmp")
    expect(File.readlink("/proc/#{pid}/cwd")).to eq("/tmp")
    expect(session_of(pid)).to eq(pid)
    expect(Integer(proc_status(pid, "SigBlk"), 16)).to eq(0)
  end

  # The cd goes through /bin/sh, whose exec would run such a file as a shell script.
  it "refuses a file execve refuses (Errno::ENOEXEC), as with addchdir_np, running nothing of it" do
    Dir.mktmpdir do |dir|
      marker = File.join(dir, "ran")
      junk = File.join(dir, "junk")
      File.write(junk, "touch #{marker}\n")
      File.chmod(0o755, junk)
      children = children_of(@service.pid)
      reply = @service.call("launch", argv: [junk], options: { chdir: dir })
      started << reply["pid"] if reply["pid"]
      expect(reply).to include("error" => "Errno::ENOEXEC")
      expect(reply["message"]).to include(junk)
      sleep 0.5
      expect(File.exist?(marker)).to be(false)
      expect(children_of(@service.pid)).to eq(children)
    end
  end

  it "refuses a missing chdir: before starting anything" do
    expect(@service.call("launch", argv: ["/bin/true"], options: { chdir: "/nonexistent" }))
      .to include("error" => "Errno::ENOENT")
  end
end
