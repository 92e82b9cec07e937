# frozen_string_literal: true

require "json"
require "shellwords"
require "tmpdir"
require_relative "../support/supervised"

# Issue 17 item 7: a supervisor is the service's only up to the service's
# session. Under each real supervisor a "daemon" (a shell standing for a
# supervised cron or sshd) starts two JVMs: one in the daemon's own session,
# as a run script running java as a child does (that JVM is the service), and
# one in a session of its own (setsid java &), as a cron job or an ssh login
# is: restart! there must not restart the daemon.
RSpec.describe "service manager detection stops at the service's session" do
  BOUNDARY_PROBE = <<~RUBY
    require "jrestart"
    require "json"
    plan = begin
      JRestart.plan.command.join(" ")
    rescue JRestart::Error => e
      "refused: " + e.message
    end
    sid = Integer(File.read("/proc/self/stat").split(") ").last.split[3])
    File.write(ARGV[0] + ".tmp", JSON.generate(detect: JRestart.detect&.name, plan: plan, sid: sid))
    File.rename(ARGV[0] + ".tmp", ARGV[0])
  RUBY

  # The Supervised service, with the daemon's script instead of a JRuby service.
  module BoundaryDaemon
    def service_argv
      ["/bin/sh", File.join(dir, "daemon.sh")]
    end
  end

  BOUNDARY_PROGRAMS = { "runit" => "runsv", "daemontools" => "supervise", "s6" => "s6-supervise",
               "supervisord" => "supervisord" }.freeze

  def write_daemon(dir)
    probe = File.join(dir, "probe.rb")
    File.write(probe, BOUNDARY_PROBE)
    jruby = JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START).map { |a| Shellwords.escape(a) }.join(" ")
    File.write(File.join(dir, "daemon.sh"), <<~SH)
      #!/bin/sh
      #{jruby} #{probe} #{dir}/same-session.json &
      setsid #{jruby} #{probe} #{dir}/own-session.json &
      exec sleep 1000
    SH
  end

  def result(dir, name)
    path = File.join(dir, "#{name}.json")
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + JRestartSpec::Supervised::TIMEOUT
    sleep 0.1 until File.exist?(path) || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    logs = Dir.glob(File.join(dir, "*.{log,out}")).map { |log| File.read(log) }.join
    raise "#{name}: no answer from the probe:\n#{logs}" unless File.exist?(path)

    JSON.parse(File.read(path))
  end

  BOUNDARY_PROGRAMS.each do |manager, program|
    it "#{manager}: the JVM in the supervised daemon's session is its service; one that made its own session is not" do
      unless ENV["PATH"].split(":").any? { |d| File.executable?(File.join(d, program)) } || ENV["CI"]
        skip "#{program} is not installed; CI installs it"
      end

      Dir.mktmpdir("jrestart-boundary-#{manager}") do |dir|
        write_daemon(dir)
        supervised = JRestartSpec::Supervised.create(manager, dir, 0).extend(BoundaryDaemon)
        begin
          expect(supervised.start).to be_truthy
          same = result(dir, "same-session")
          own = result(dir, "own-session")
          expect(same["detect"]).to eq(manager), same.inspect
          expect(own["sid"]).not_to eq(same["sid"])
          expect(own["detect"]).to be_nil, own.inspect
          expect(own["plan"]).to start_with("refused: restart has no command to run")
          expect(own["plan"]).to match(/which started this process's session/)
        ensure
          expect(supervised.stop).to be(true), "processes of this run were left running"
        end
      end
    end
  end
end
