# frozen_string_literal: true

require "fileutils"
require "open3"
require "tmpdir"

# What must hold once per JVM, not once per class loader (issue 17, items 11
# and 13): one JVM with two JRuby runtimes (ScriptingContainer, each loading
# jrestart.jar through its own class loader, as jruby-rack pools do) and the
# Java facade loaded by a class loader of its own, as a host loads a plugin.
RSpec.describe "jrestart in one JVM with several JRuby runtimes and the Java facade" do
  def root
    File.expand_path("../..", __dir__)
  end

  def java_tool(name)
    File.join(ENV_JAVA.fetch("java.home"), "bin", name)
  end

  def jruby_jar
    java.io.File.new(org.jruby.Ruby.java_class.protection_domain.code_source.location.to_uri).path
  end

  before(:all) do
    skip "no javac in #{ENV_JAVA["java.home"]}" unless File.executable?(java_tool("javac"))

    @dir = Dir.mktmpdir("jrestart-process-wide")
    @classes = File.join(@dir, "classes")
    FileUtils.mkdir_p(@classes)
    # The class path has JRuby (and the jnr-ffi inside it), not jrestart.jar: every loader loads its own copy.
    out, status = Open3.capture2e(java_tool("javac"), "--release", "8", "-cp", jruby_jar, "-d", @classes,
                                  File.join(root, "spec/support/java/ProcessWideProbe.java"))
    raise "javac failed:\n#{out}" unless status.success?
  end

  after(:all) { FileUtils.rm_rf(@dir) if @dir }

  # Runs the probe in a JVM of its own; its output lines, and the lines its restart commands wrote.
  def probe(mode)
    Dir.mktmpdir("jrestart-probe", @dir) do |dir|
      marker = File.join(dir, "started")
      state = File.join(dir, "state")
      Dir.mkdir(state, 0o700)
      env = { "MARKER" => marker, "STATE_DIRECTORY" => state, "JRESTART_LIMIT" => nil, "JRESTART_COMMAND" => nil }
      args = mode == "nulls" ? [] : [File.join(root, "lib")]
      out, status = Open3.capture2e(env, java_tool("java"), "-cp", "#{jruby_jar}:#{@classes}", "ProcessWideProbe",
                                    mode, *args, File.join(root, "lib/jrestart/jrestart.jar"))
      expect(status).to be_success, out
      [out.lines.map(&:chomp), File.exist?(marker) ? File.readlines(marker, chomp: true) : []]
    end
  end

  it "starts one restart command, not one per runtime: the others are refused, naming who has it" do
    out, started = probe("once")
    loaders = out.grep(/\Aloader \d: /).map { |line| line.split(": ", 2).last }
    expect(loaders.size).to eq(3)
    expect(loaders.uniq.size).to eq(3), "jrestart.jar was not loaded by three class loaders:\n#{out.join("\n")}"
    expect(out).to include("runtime 1: started")
    expect(out.grep(/\Aruntime 2: /).first).to match(/\Aruntime 2: JRestart::Error: a restart is already under way in this process \(started by thread .*JRubyClassLoader/)
    expect(out.grep(/\Afacade: /).first).to match(/\Afacade: JRestartException STATE: a restart is already under way in this process/)
    expect(started).to eq(["started"]), "restart commands that ran: #{started.size}\n#{out.join("\n")}"
  end

  it "runs the restart hooks of every runtime and of the facade, in registration order, whoever restarts" do
    out, lines = probe("hooks")
    expect(out.grep(/\Afacade onRestart: /).first).to match(/\Afacade onRestart: restart hook registered at ProcessWideProbe\./)
    locations = out.grep(/\Aruntime 1 restart_hooks: /).first.split(": ", 2).last.split(" | ")
    expect(locations.size).to eq(3), out.join("\n")
    expect(locations.last).to start_with("ProcessWideProbe.")
    expect(out).to include("runtime 2: started")
    expect(lines).to eq(["hook 1 spawn", "hook 2 spawn", "hook 3 SPAWN", "started"]), out.join("\n")
    # A runtime torn down takes its block out: no restart calls into a dead runtime.
    expect(out).to include("runtime 2 restart_hooks after runtime 1 ended: 2")
  end

  it "keeps the facade in a Ruby suite's test mode, and lets a Java host turn it on" do
    out, started = probe("test-mode")
    expect(out).to include("facade testMode: true")
    # The facade checks its arguments, records the plan and starts nothing.
    expect(out).to include("facade: null")
    expect(out.grep(/\Afacade testRequests: /).first).to match(%r{\Afacade testRequests: \[JRestart plan \(nothing has been done\) +command +/bin/sh -c echo started})
    # Another runtime, not in test mode itself, is still refused by the process's test mode.
    expect(out.grep(/\Aruntime 2: /).first).to match(/\Aruntime 2: JRestart::Error: .*test mode is on/)
    expect(out.grep(/\Aruntime 2 after setTestMode: /).first).to match(/JRestart::Error: .*test mode is on/)
    expect(started).to eq([]), out.join("\n")
  end

  it "refuses null arguments of the facade with JRestartException INVALID_ARGUMENT naming them" do
    out, started = probe("nulls")
    expect(out).not_to include(a_string_matching(/NullPointerException/))
    expected = {
      "plan(options, null)" => "command must not be null",
      "restart(options, null)" => "command must not be null",
      "launch(options, /bin/true, null)" => "args must not be null",
      "notify(null)" => "state must not be null",
      "LaunchOptions.chdir[null]" => "chdir: the directory is null",
      "LaunchOptions.log[null]" => "log: the file is null",
      "LaunchOptions.delay[1, null]" => "delay: the unit is null",
      "LaunchOptions.env[null, x]" => "env: the name is null",
      "LaunchOptions.env[X, null]" => "env: the value of X is null",
      "LaunchOptions.unsetenv[null]" => "unsetenv: the name is null",
      "LaunchOptions.keep[null]" => "keep: the descriptors are null",
      "LaunchOptions.listeners[null]" => "listeners: the channels are null",
      "LaunchOptions.inheritedChannel[null]" => "inheritedChannel: the channel is null",
      "LaunchOptions.stopTimeout[1, null]" => "stopTimeout: the unit is null"
    }
    expected.each do |call, message|
      line = out.find { |l| l.start_with?("#{call}: ") }
      expect(line).to match(/\A#{Regexp.escape(call)}: (plan: )?JRestartException INVALID_ARGUMENT: #{Regexp.escape(message)}/),
                      "#{call}: #{line.inspect}"
    end
    # setCommand(null) unsets the command, as setCommand() with none does.
    expect(out).to include("setCommand(x) then setCommand(null): null null command()=[]")
    expect(started).to eq([])
  end
end
