# frozen_string_literal: true

require "fileutils"
require "json"
require "tempfile"
require "timeout"
require_relative "jruby"

module JRestartSpec
  # A JRuby "service" without a manager (spec/support/guard_probe.rb), driven
  # on stdin; its stderr is kept for the warnings.
  class GuardProbe
    SCRIPT = File.expand_path("guard_probe.rb", __dir__)

    # prefix: what runs the JVM (e.g. unshare); the JVM is its last exec.
    # user: run it as this unprivileged user (setpriv), from a world-readable
    # copy of JRuby, lib/ and the probe; then env is all the environment it gets.
    def initialize(env, prefix: [], user: nil)
      @stderr = Tempfile.create(["jrestart-guard", ".err"])
      argv = [*prefix, *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), SCRIPT]
      argv = unprivileged(user, argv) if user
      File.chmod(0o666, @stderr.path) if user
      @io = IO.popen([env, *argv], "r+", err: @stderr.path, unsetenv_others: !user.nil?)
    end

    # Waits until jrestart is loaded in the probe.
    def ready(timeout: 60)
      reply(timeout: timeout).fetch("ready")
      self
    end

    def send_line(line)
      @io.puts(line)
      @io.flush
    end

    def reply(timeout: 60)
      line = Timeout.timeout(timeout) { @io.gets }
      raise "the probe exited; its stderr:\n#{stderr}" unless line

      JSON.parse(line)
    end

    def ask(line)
      send_line(line)
      reply
    end

    def stderr
      File.read(@stderr.path)
    end

    # The probe's lines on stderr that are jrestart's warnings.
    def warnings
      stderr.lines.select { |l| l.start_with?("jrestart: ") }.map(&:strip)
    end

    def close
      @io.close_write
      Timeout.timeout(15) { Process.wait(@io.pid) }
    rescue Timeout::Error
      Process.kill(:KILL, @io.pid)
      Process.wait(@io.pid)
    ensure
      @io.close
      File.unlink(@stderr.path)
      FileUtils.rm_rf(@copy) if @copy
    end

    private

    def unprivileged(user, argv)
      argv, @copy = JRuby.readable_copy(argv, SCRIPT)
      ["/usr/bin/setpriv", "--reuid=#{user}", "--regid=#{user}", "--clear-groups", "--", *argv]
    end
  end
end
