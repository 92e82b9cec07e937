# frozen_string_literal: true

require "ffi"
require "fileutils"
require "json"
require "shellwords"
require "socket"
require "timeout"
require "tempfile"
require "tmpdir"
require_relative "jruby"

module JRestartSpec
  # Real processes for the specs: JRuby services, /proc inspection, reaping.
  module Processes
    SERVICE = File.expand_path("service.rb", __dir__)

    # prctl(2), for PR_SET_CHILD_SUBREAPER only.
    module Prctl
      extend FFI::Library
      ffi_lib FFI::Library::LIBC
      attach_function :prctl, %i[int ulong ulong ulong ulong], :int
    end
    PR_SET_CHILD_SUBREAPER = 36

    def self.subreaper(on)
      Prctl.prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0).zero? || raise("prctl(PR_SET_CHILD_SUBREAPER) failed")
    end

    # Processes alive (zombies are not), this one left out, whose environment has variable=value.
    def self.with_environment(variable, value)
      needle = "#{variable}=#{value}\0"
      Dir.glob("/proc/[0-9]*").filter_map do |dir|
        pid = File.basename(dir).to_i
        next if pid == Process.pid
        next unless File.binread("#{dir}/environ").include?(needle)
        next if File.read("#{dir}/stat").split(") ", 2).last.start_with?("Z")

        pid
      rescue SystemCallError
        nil
      end
    end

    # A field of /proc/PID/status, e.g. "SigIgn".
    def proc_status(pid, field)
      File.read("/proc/#{pid}/status")[/^#{field}:\s*(\S+)/, 1]
    end

    # /proc/PID/stat fields after the command name: state, ppid, pgrp, session, ...
    def proc_stat(pid)
      File.read("/proc/#{pid}/stat").split(") ", 2).last.split
    end

    # The JVM opens and closes files under /sys and /proc on its own (cgroup
    # metrics, sometimes without close-on-exec); jrestart never does.
    # Descriptor comparisons leave them out.
    def jvm_transient?(target)
      target.start_with?("/sys/", "/proc/")
    end

    # Link targets, sorted, without the JVM's transient ones.
    def own_targets(targets)
      targets.reject { |target| jvm_transient?(target) }.sort
    end

    # A sleep(1) just started opens locale files of its own before it sleeps:
    # only once it waits in nanosleep are its descriptors the inherited ones.
    def wait_until_sleeping(pid)
      wait_until(message: "pid #{pid} to sleep") { File.read("/proc/#{pid}/wchan").include?("nanosleep") }
      pid
    end

    def session_of(pid)
      Integer(proc_stat(pid)[3])
    end

    # Descriptors above 2 held by pid, each as [fd, link target].
    def fds_above_2(pid)
      Dir.children("/proc/#{pid}/fd").map(&:to_i).select { |fd| fd > 2 }.sort.filter_map do |fd|
        [fd, File.readlink("/proc/#{pid}/fd/#{fd}")]
      rescue SystemCallError
        nil
      end
    end

    def alive?(pid)
      Process.kill(0, pid)
      proc_stat(pid).first != "Z"
    rescue SystemCallError # ESRCH, or ENOENT and others from a /proc entry that just vanished
      false
    end

    def children_of(pid)
      Dir.glob("/proc/[0-9]*/stat").filter_map do |path|
        fields = File.read(path).split(") ", 2).last.split
        Integer(File.basename(File.dirname(path))) if Integer(fields[1]) == pid
      rescue SystemCallError
        nil
      end
    end

    # SIGKILL to each of pids that is still there (a test's cleanup: children_of(pid), say).
    def kill_all(pids)
      pids.each do |pid|
        Process.kill(:KILL, pid)
      rescue Errno::ESRCH
        nil
      end
    end

    # Seconds on the monotonic clock, for measuring how long something took.
    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    # Prints line under the running example, in the spec run's own output.
    def report(line)
      RSpec.configuration.reporter.message("\n  #{line}")
    end

    def wait_until(timeout: 30, interval: 0.05, message: "condition")
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
      loop do
        result = yield
        return result if result
        raise "timed out after #{timeout}s waiting for #{message}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep interval
      end
    end

    # Kills pid and every process it had in its session; reaps those that are ours.
    def kill_and_reap(pid)
      return unless pid

      kill_all([pid])
      begin
        Timeout.timeout(10) { Process.wait(pid) }
      rescue Errno::ECHILD
        wait_until(timeout: 10, message: "pid #{pid} to go") { !alive?(pid) }
      end
    end

    # Reaps the orphans this subreaper adopted that have exited since.
    def reap_orphans
      children_of(Process.pid).each do |pid|
        next unless proc_stat(pid).first == "Z"

        Process.waitpid(pid, Process::WNOHANG)
      rescue SystemCallError
        nil
      end
    end

    # A JRuby service (spec/support/service.rb) holding a TCP listener, a UNIX
    # socket pair, a file and a pipe, driven by JSON lines on its stdin.
    class Service
      attr_reader :pid, :port, :held, :sigign

      # user: run the service as this unprivileged user (setpriv), from a
      # world-readable copy of JRuby, lib/ and spec/support/.
      def initialize(nohup: false, env: {}, java_properties: {}, user: nil)
        @stderr = Tempfile.create(["jrestart-service", ".err"])
        flags = java_properties.map { |name, value| "-D#{name}=#{value}" }
        # JVM warnings (a thread it could not start) must not reach stdout, the reply channel.
        flags += ["-Xlog:disable", "-Xlog:all=warning:stderr"] if user
        command = JRuby.command(JRuby::FAST_START, *flags) + [SERVICE]
        command = unprivileged(user, command) if user
        command = ["/usr/bin/nohup"] + command if nohup
        @io = IO.popen([env, *command], "r+", err: @stderr.path)
        @pid = @io.pid
        hello = read_reply
        raise "service did not start: #{hello.inspect}" unless hello["port"]

        @port = hello["port"]
        @held = hello["held"]
        @sigign = hello["sigign"]
      end

      def call(op, **args)
        @io.puts(JSON.generate(args.merge(op: op)))
        @io.flush
        read_reply
      end

      # The pid the service answers with on its TCP port: proof it still serves.
      def serving_pid
        TCPSocket.open("127.0.0.1", port) { |s| Integer(s.gets) }
      end

      def kill9
        Process.kill(:KILL, @pid)
        Process.wait(@pid)
        @io.close
        @dead = true
      end

      def stop
        return if @dead

        begin
          call("exit")
        rescue IOError, Errno::EPIPE
          nil
        end
        Timeout.timeout(15) { Process.wait(@pid) }
      rescue Timeout::Error
        Process.kill(:KILL, @pid)
        Process.wait(@pid)
      ensure
        @io.close unless @io.closed?
        @dead = true
        File.unlink(@stderr.path) if File.exist?(@stderr.path)
        FileUtils.rm_rf(@copy) if @copy
      end

      private

      def unprivileged(user, command)
        command, @copy = JRuby.readable_copy(command, SERVICE)
        ["/usr/bin/setpriv", "--reuid=#{user}", "--regid=#{user == "nobody" ? "nogroup" : user}", "--clear-groups",
         "--", "/usr/bin/env", "HOME=#{@copy}", *command]
      end

      def read_reply
        line = Timeout.timeout(60) { @io.gets }
        raise "service exited; its stderr:\n#{File.read(@stderr.path)}" unless line

        JSON.parse(line)
      end
    end
  end

  # A client trying every 10 ms, in a thread, until stopped: each attempt's
  # result is the block's value (what answered, :refused, ...).
  class Prober
    def initialize(&attempt)
      @results = []
      @stop = false
      @thread = Thread.new do
        until @stop
          @results << attempt.call
          sleep 0.01
        end
      end
    end

    # Stops the client and returns every attempt's result (once is enough; again returns the same).
    def stop
      @stop = true
      @thread.join
      @results
    end
  end
end
