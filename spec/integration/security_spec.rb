# frozen_string_literal: true

require "pathname"
require "tmpdir"

# jrestart must never run or write something the service owner did not ask for.
RSpec.describe "JRestart's security guarantees" do
  around do |example|
    Dir.mktmpdir do |dir|
      @dir = dir
      example.run
    end
  end

  def children
    Dir.glob("/proc/[0-9]*/stat").filter_map do |stat|
      fields = File.read(stat).split(") ", 2).last.split
      Integer(File.basename(File.dirname(stat))) if Integer(fields[1]) == Process.pid
    rescue SystemCallError
      nil
    end
  end

  it "never hands a command string to a shell: metacharacters are part of the file name" do
    pwned = File.join(@dir, "pwned")
    before = children
    { "true;reboot" => Errno::ENOENT, "/bin/true; touch #{pwned}" => Errno::ENOENT,
      "/bin/true && touch #{pwned}" => Errno::ENOENT, "/bin/true | touch #{pwned}" => Errno::ENOENT,
      "$(touch #{pwned})" => ArgumentError, "`touch #{pwned}`" => ArgumentError }.each do |command, error|
      expect { JRestart.launch(command) }.to raise_error(error, /#{Regexp.escape(command)}/)
    end
    expect(File.exist?(pwned)).to be(false)
    expect(children - before).to eq([])
  end

  it "runs a shell only when asked to, with the script as one argument" do
    out = File.join(@dir, "out")
    launch = JRestart.launch("/bin/sh", "-c", "echo \"$1\" > #{out}", "sh", "; touch #{@dir}/pwned")
    expect(launch.wait(30)).to be_success
    expect(File.read(out)).to eq("; touch #{@dir}/pwned\n")
    expect(File.exist?("#{@dir}/pwned")).to be(false)
  end

  it "refuses a log: symlink and writes nothing through it" do
    victim = File.join(@dir, "victim")
    File.write(victim, "precious\n")
    link = File.join(@dir, "restart.log")
    File.symlink(victim, link)
    expect { JRestart.launch("/bin/echo", "overwritten", log: link) }.to raise_error(Errno::ELOOP, /restart\.log/)
    expect(File.read(victim)).to eq("precious\n")
    expect(File.symlink?(link)).to be(true)
  end

  it "appends to an existing log, never truncates it, and creates a new one 0640" do
    log = File.join(@dir, "restart.log")
    File.write(log, "earlier run\n")
    expect(JRestart.launch("/bin/echo", "this run", log: log).wait(30)).to be_success
    expect(File.read(log)).to eq("earlier run\nthis run\n")

    fresh = File.join(@dir, "fresh.log")
    old_umask = File.umask(0)
    begin
      expect(JRestart.launch("/bin/true", log: fresh).wait(30)).to be_success
    ensure
      File.umask(old_umask)
    end
    expect(File.stat(fresh).mode & 0o777).to eq(0o640)
  end

  it "gives the command env: alone with unsetenv_others: true, so ENV's secrets stay behind" do
    ENV["JRESTART_SPEC_SECRET"] = "hunter2"
    out = File.join(@dir, "env")
    launch = JRestart.launch("/usr/bin/env", log: out, env: { "ONLY" => "this" }, unsetenv_others: true)
    expect(launch.wait(30)).to be_success
    expect(File.read(out)).to eq("ONLY=this\n")

    plan = JRestart.plan("/usr/bin/env", env: { "ONLY" => "this" }, unsetenv_others: true)
    expect(plan.to_h).to include(unsetenv_others: true)
    expect(plan.to_s).to include("nothing of ENV")
  ensure
    ENV.delete("JRESTART_SPEC_SECRET")
  end

  it "looks a bare name up only in env:'s PATH with unsetenv_others: true" do
    expect { JRestart.launch("true", unsetenv_others: true) }.to raise_error(Errno::ENOENT, /looked up in PATH=\)\z/)
    launch = JRestart.launch("true", env: { "PATH" => "/usr/bin:/bin" }, unsetenv_others: true)
    expect(launch.path).to match(%r{\A/(usr/)?bin/true\z})
    expect(launch.wait(30)).to be_success
  end

  it "refuses a command that a relative PATH entry would supply" do
    bin = File.join(@dir, "bin")
    Dir.mkdir(bin)
    name = "jrestart-planted-#{Process.pid}"
    script = "#!/bin/sh\ntouch #{@dir}/pwned\n"
    File.write(File.join(bin, name), script)
    File.chmod(0o755, File.join(bin, name))
    # Relative to the JVM's own cwd, which is what a relative entry means to libc.
    relative = Pathname(bin).relative_path_from(Pathname(Dir.pwd)).to_s
    refusal = /#{name} would be found through the relative PATH entry "#{Regexp.escape(relative)}"/
    ["#{relative}:/usr/bin:/bin", "/usr/bin:/bin:#{relative}"].each do |path|
      expect { JRestart.launch(name, env: { "PATH" => path }) }.to raise_error(ArgumentError, refusal)
    end
    # An empty entry means the cwd.
    expect { JRestart.launch(name, env: { "PATH" => "/usr/bin::/bin" }) }.to raise_error(Errno::ENOENT)
    begin
      File.write(name, script)
      File.chmod(0o755, name)
      expect { JRestart.launch(name, env: { "PATH" => "/usr/bin::/bin" }) }
        .to raise_error(ArgumentError, /relative PATH entry ""/)
    ensure
      File.delete(name)
    end
    expect { JRestart.launch("#{relative}/#{name}") }.to raise_error(ArgumentError, /relative path/)
    expect { JRestart.launch("/bin/true", chdir: relative) }.to raise_error(ArgumentError, /absolute/)
    expect(File.exist?("#{@dir}/pwned")).to be(false)
  end

  it "checks reexec!'s unsetenv_others: before anything changes" do
    expect { JRestart.reexec!(["/bin/true"], unsetenv_others: "yes") }.to raise_error(TypeError, /unsetenv_others/)
  end
end
