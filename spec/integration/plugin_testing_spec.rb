# frozen_string_literal: true

require "json"
require "open3"
require "tmpdir"

# A plugin author's view of jrestart/rspec: spec/fixtures/sample_plugin has
# its own suite, written against the helper, run here as its author runs it,
# in a JRuby of its own (never in this suite's process, whose jrestart is
# real), traced with strace to prove that the suite starts no process at all.
RSpec.describe "Testing a plugin with jrestart/rspec" do
  SAMPLE_PLUGIN = File.expand_path("../fixtures/sample_plugin", __dir__)
  RUN_PLUGIN_SUITE = 'require "rspec/core"; exit RSpec::Core::Runner.run(ARGV)'
  SAMPLE_PLUGIN_FAILURE = <<~TEXT.chomp
    expected the block to request a restart with reason "threads changed", but it requested:
      restart ["/bin/sh", "-c", "/etc/init.d/sample restart"] reason: "cold keys changed: threads"
  TEXT

  # The suite's JSON report and the process calls strace saw.
  def run_plugin_suite(*jvm_options)
    raise "strace is missing: apt-get install strace" unless File.executable?("/usr/bin/strace")

    Dir.mktmpdir("plugin-suite") do |dir|
      report = File.join(dir, "report.json")
      trace = File.join(dir, "strace")
      command = ["/usr/bin/strace", "-f", "-qq", "-e", "trace=execve,fork,vfork,clone,clone3", "-o", trace,
                 *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START, *jvm_options),
                 "-e", RUN_PLUGIN_SUITE, "--", "--format", "json", "--out", report, "spec"]
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      _out, err, status = Open3.capture3(*command, chdir: SAMPLE_PLUGIN)
      puts format("\n  plugin suite%s under strace: %.1f s", jvm_options.empty? ? "" : " (#{jvm_options.join(" ")})",
                  Process.clock_gettime(Process::CLOCK_MONOTONIC) - started)
      raise "the plugin's suite did not run (#{status}): #{err}" unless File.exist?(report)

      calls = File.readlines(trace).grep(/\b(?:execve|fork|vfork|clone3?)\(/)
      [JSON.parse(File.read(report)), status, calls]
    end
  end

  shared_examples "a plugin's suite" do |*jvm_options|
    before(:all) { @report, @status, @calls = run_plugin_suite(*jvm_options) }

    it "passes every example but the one written wrong on purpose, which fails readably" do
      expect(@report["summary"]).to include("example_count" => 9, "failure_count" => 1)
      expect(@status.exitstatus).to eq(1)
      failed = @report["examples"].select { |example| example["status"] == "failed" }
      expect(failed.map { |example| example["description"] }).to eq(["fails readably when the expected reason is wrong"])
      expect(failed.first["exception"]["message"].strip).to eq(SAMPLE_PLUGIN_FAILURE)
    end

    it "starts no process: the only execve is the JVM's own, and nothing but threads is cloned" do
      execs = @calls.grep(/\bexecve\(/)
      expect(execs.size).to eq(1), "execve calls:\n#{execs.join}"
      expect(execs.first).to include(%("#{JRestartSpec::JRuby.command.first}"))
      expect(@calls.grep_v(/\bexecve\(/).grep_v(/CLONE_THREAD/)).to eq([])
    end
  end

  it "says what was requested when a negated expectation fails, and when nothing was" do
    script = <<~'RUBY'
      require "jrestart/rspec"
      def message(matcher, negated)
        block = -> { yield }
        negated ? (matcher.does_not_match?(block) || matcher.failure_message_when_negated) : (matcher.matches?(block) || matcher.failure_message)
      end
      matcher = JRestart::Testing::Matchers.instance_method(:request_restart).bind(Object.new)
      puts message(matcher.call.with_command(["/bin/true"]), true) { JRestart.launch("/bin/sh"); JRestart.restart!("/bin/true", reason: "x") }
      puts message(matcher.call, false) { JRestart.launch("/bin/sh") }
      puts message(matcher.call.with_reason(/cold/), false) { nil }
    RUBY
    out, err, status = Open3.capture3(*JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), "-e", script)
    expect(status).to be_success, err
    expect(out).to eq(<<~TEXT)
      expected the block not to request a restart with command ["/bin/true"], but it requested:
        launch ["/bin/sh"] (a launch, not a restart)
        restart ["/bin/true"] reason: "x"
      expected the block to request a restart, but it requested:
        launch ["/bin/sh"] (a launch, not a restart)
      expected the block to request a restart with reason matching /cold/, but it requested nothing
    TEXT
  end

  context "on Linux" do
    include_examples "a plugin's suite"
  end

  context "where jrestart cannot work (libc without pipe2, as on macOS)" do
    include_examples "a plugin's suite", "-Djrestart.hide_symbols=pipe2"
  end
end
