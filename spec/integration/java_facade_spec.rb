# frozen_string_literal: true

require "fileutils"
require "open3"
require "rbconfig"
require "socket"
require "tmpdir"

# The Java facade in a JVM that has no JRuby: a plain Java service whose class
# path is jrestart.jar, jnr-ffi and jnr-constants (from Maven Central), run
# under a real runsv, restarts itself with JRestart.restart() and no command.
RSpec.describe "org.jrestart.JRestart from a plain Java service" do
  ROOT = File.expand_path("../..", __dir__)
  JAVA_SUPPORT = File.join(ROOT, "spec/support/java")

  def java_tool(name)
    File.join(ENV_JAVA.fetch("java.home"), "bin", name)
  end

  def ask(port, line)
    TCPSocket.open("127.0.0.1", port) do |s|
      s.puts(line)
      s.read.strip
    end
  rescue SystemCallError
    nil
  end

  before(:all) do
    skip "runit's runsv and sv are not installed" unless system("command -v runsv sv >/dev/null")
    skip "no javac in #{ENV_JAVA["java.home"]}" unless File.executable?(java_tool("javac"))

    @dir = Dir.mktmpdir("jrestart-plain-java")
    classpath_file = File.join(@dir, "classpath.txt")
    out, status = Open3.capture2e("mvn", "-q", "-f", File.join(JAVA_SUPPORT, "pom.xml"), "dependency:build-classpath",
                                  "-Dmdep.outputFile=#{classpath_file}")
    raise "mvn could not resolve jnr-ffi and jnr-constants:\n#{out}" unless status.success?

    deps = File.read(classpath_file).strip
    expect(deps).not_to match(/jruby/i)
    classes = File.join(@dir, "classes")
    FileUtils.mkdir_p(classes)
    @classpath = [File.join(ROOT, "lib/jrestart/jrestart.jar"), deps, classes].join(":")
    out, status = Open3.capture2e(java_tool("javac"), "--release", "8", "-cp", @classpath, "-d", classes,
                                  File.join(JAVA_SUPPORT, "PlainService.java"))
    raise "javac failed:\n#{out}" unless status.success?
  end

  after(:all) { FileUtils.rm_rf(@dir) if @dir }

  it "restarts itself under runsv with JRestart.restart(), 3 times, a new JVM answering on the same port each time" do
    port = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] }
    service = File.join(@dir, "service")
    hooks = File.join(@dir, "hooks")
    FileUtils.mkdir_p(service)
    File.write(File.join(service, "run"), <<~SH)
      #!/bin/sh
      exec 2>&1
      exec #{java_tool("java")} -cp #{@classpath} PlainService #{port} #{hooks}
    SH
    File.chmod(0o755, File.join(service, "run"))
    runsv = Process.spawn("runsv", service, pgroup: true, out: File::NULL, err: File::NULL)
    begin
      wait_until(timeout: 60, message: "the plain Java service to answer") { ask(port, "info") }
      pid, jruby = ask(port, "info").split
      expect(jruby).to eq("jruby=false")
      expect(ask(port, "detect")).to eq("runit service #{service}: sv restart #{service} " \
                                        "(ancestor runsv (pid #{runsv}); its cwd #{service})")
      expect(ask(port, "plan")).to include("chosen by  detected runit").and include("listening")

      expect(ask(port, "record")).to eq("none")

      # The hook registered with JRestart.onRestart vetoes: nothing restarts, the same JVM answers.
      hook_line = File.readlines(File.join(JAVA_SUPPORT, "PlainService.java")).index { |l| l.include?("onRestart(") } + 1
      File.write("#{hooks}.veto", "")
      expect(ask(port, "restart")).to eq("error VETOED errno=0 command=null: the restart was vetoed by the restart hook " \
                                         "registered at PlainService.main(PlainService.java:#{hook_line}): " \
                                         "java.lang.IllegalStateException: the spec asked for a veto; nothing was started")
      expect(ask(port, "info").split.first).to eq(pid)
      File.unlink("#{hooks}.veto")

      pids = [pid]
      3.times do
        expect(ask(port, "restart")).to match(/\Arestarting \d+\z/)
        wait_until(timeout: 60, message: "a new JVM on port #{port}") do
          answer = ask(port, "info")
          answer && answer.split.first != pids.last
        end
        pids << ask(port, "info").split.first
        # The new JVM read the record the old one wrote: JRestart.lastRestart() of the facade.
        expect(ask(port, "record")).to eq("previous=#{pids[-2]} reason=asked by pid #{pids[-2]} mechanism=SPAWN " \
                                          "command=sv restart #{service} elapsed=true")
      end
      expect(pids.uniq.size).to eq(4)
      # The hook ran once per restart, before the command: the vetoed one and the three that happened.
      expect(File.readlines(hooks, chomp: true)).to eq([pid, *pids[0, 3]].map { |asking| "SPAWN asked by pid #{asking}" })
    ensure
      system("sv", "exit", service, out: File::NULL, err: File::NULL)
      begin
        Timeout.timeout(30) { Process.wait(runsv) }
      rescue Timeout::Error
        Process.kill(:KILL, -runsv)
        Process.wait(runsv)
      end
    end
  end

  it "registers, lists and removes restart hooks; test mode runs none; a null hook is INVALID_ARGUMENT" do
    out, status = Open3.capture2e(java_tool("jshell"), "--class-path", @classpath, "-q", "-", stdin_data: <<~JSHELL)
      import org.jrestart.*;
      java.util.List<String> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
      RestartHook.Registration a = JRestart.onRestart(r -> ran.add("a"));
      RestartHook.Registration b = JRestart.onRestart(r -> ran.add("b"));
      System.out.println("hooks " + JRestart.restartHooks().size());
      System.out.println("removed " + a.remove() + " " + a.remove() + " hooks " + JRestart.restartHooks().size());
      JRestart.setTestMode(true);
      System.out.println("test mode " + JRestart.restart("/bin/true") + " ran " + ran);
      try { JRestart.onRestart(null); } catch (org.jrestart.core.posix.JRestartException e) { System.out.println(e.kind() + " " + e.getMessage()); }
      /exit
    JSHELL
    expect(status).to be_success, out
    expect(out).to include("hooks 2").and include("removed true false hooks 1")
    expect(out).to include("test mode null ran []")
    expect(out).to include("INVALID_ARGUMENT hook must not be null")
  end

  it "reports a bad request as a JRestartException naming the command, and starts nothing" do
    out, status = Open3.capture2e(java_tool("jshell"), "--class-path", @classpath, "-q", "-", stdin_data: <<~JSHELL)
      try { org.jrestart.JRestart.launch("/nonexistent/jrestart-java"); System.out.println("started"); }
      catch (org.jrestart.core.posix.JRestartException e) { System.out.println(e.kind() + " " + e.errno() + " " + e.command()); }
      try { org.jrestart.JRestart.launch(new org.jrestart.LaunchOptions().chdir(java.nio.file.Paths.get("relative")), "/bin/true"); System.out.println("started"); }
      catch (org.jrestart.core.posix.JRestartException e) { System.out.println(e.kind() + " " + e.getMessage()); }
      /exit
    JSHELL
    expect(status).to be_success, out
    expect(out).to include("ERRNO 2 /nonexistent/jrestart-java")
    expect(out).to include("INVALID_ARGUMENT chdir must be an absolute path, got relative")
    expect(out).not_to include("started")
  end
end
