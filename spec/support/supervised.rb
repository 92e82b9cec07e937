# frozen_string_literal: true

require "fileutils"
require "io/wait"
require "json"
require "shellwords"
require "socket"
require "time"
require "jrestart"
require_relative "jruby"
require_relative "processes"

module JRestartSpec
  # The line protocol of the services on 127.0.0.1 that the specs, the demo
  # and the bench restart (examples/demo_service.rb, reexec_service.rb).
  module Loopback
    module_function

    def free_port
      server = TCPServer.new("127.0.0.1", 0)
      server.addr[1]
    ensure
      server&.close
    end

    # A connection nobody answers within this many seconds has no answer: one
    # accepted by a JVM in the instant before its exec in place is inherited
    # by the new image, which never serves it.
    ANSWER_TIMEOUT = 60

    # The service's one-line answer to line, or nil while nothing listens (or answers).
    def ask(port, line)
      TCPSocket.open("127.0.0.1", port) do |socket|
        socket.puts(line)
        socket.wait_readable(ANSWER_TIMEOUT) ? socket.gets&.chomp : nil
      end
    rescue SystemCallError
      nil
    end
  end

  # A JRuby service script run by one real service manager, with everything
  # (configuration, control files, logs) in a run directory of its own. The
  # managers spec, the reexec spec, `bin/rake demo` and the bench's restart
  # part all run their services through it.
  class Supervised
    DEMO_SERVICE = File.expand_path("../../examples/demo_service.rb", __dir__)
    INIT_SCRIPT = File.expand_path("../../examples/init.d/demo-service", __dir__)
    PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    TIMEOUT = 120
    # The demo service's answer to "restart": the restart command's pid, where
    # the command came from, and what it inherited besides stdio.
    RESTARTING = /\Arestarting (\d+) via=(\S+) inherited=(\S+)\z/.freeze

    def self.managers
      { "init.d" => InitD, "supervisord" => Supervisord, "runit" => Runit, "daemontools" => Daemontools, "s6" => S6 }
    end

    # service: the JRuby script to run; jruby_options: more JRuby options
    # before it, in every generation of the service (e.g. ["-r", "probe.rb"]);
    # env: more environment for the service.
    def self.create(name, dir, port, service: DEMO_SERVICE, jruby_options: [], env: {})
      managers.fetch(name) do
        raise ArgumentError, "unknown MANAGER #{name.inspect}: use one of #{managers.keys.join(", ")}"
      end.new(dir, port, service, jruby_options, env)
    end

    attr_reader :dir, :port, :state_dir

    def initialize(dir, port, service, jruby_options, env)
      @dir = dir
      @port = port
      @service = service
      @jruby_options = jruby_options
      @env = env
      # jrestart's state (restart-loop guard, restart record) stays in the run
      # directory, so that runs neither see each other's nor leave any behind.
      @state_dir = File.join(dir, "state")
      Dir.mkdir(@state_dir, 0o700)
    end

    def name
      self.class.name.split("::").last.downcase
    end

    # Every process of this run carries it, so that stop can prove none is left.
    def marker
      { "JRESTART_DEMO_DIR" => dir }
    end

    def service_env
      marker.merge("PATH" => PATH, "DEMO_PORT" => port.to_s, "DEMO_RUN_DIR" => dir, "STATE_DIRECTORY" => state_dir)
            .merge(@env)
    end

    def service_argv
      jruby_argv + [@service]
    end

    # The pid the service answers with on its port, once it is not other_than;
    # nil if none within TIMEOUT.
    def answering_pid(other_than: nil)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + TIMEOUT
      while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
        answer = Loopback.ask(port, "pid")
        return Integer(answer) if answer =~ /\A\d+\z/ && Integer(answer) != other_than

        sleep 0.05
      end
      nil
    end

    # One restart round of the demo service: asks the service running as
    # old_pid to restart itself (for reason, if given) and waits for a new pid
    # on the same port.
    def restart(old_pid, reason: nil)
      asked = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      reply = Loopback.ask(port, ["restart", reason].compact.join(" ")).to_s
      _, restart_pid, via, inherited = reply.match(RESTARTING).to_a
      return { error: "the service answered #{reply.inspect} to restart" } unless restart_pid

      new_pid = answering_pid(other_than: old_pid)
      return { error: "no new pid answered within #{TIMEOUT}s" } unless new_pid

      { restart_pid: Integer(restart_pid), via: via, inherited: inherited, new_pid: new_pid,
        seconds: Process.clock_gettime(Process::CLOCK_MONOTONIC) - asked }
    end

    # JRestart.last_restart in the service answering now, as a Hash with
    # String keys (requested_at a Time), or nil.
    def record
      answer = Loopback.ask(port, "record")
      raise "the service answered #{answer.inspect} to record" unless answer&.start_with?("{", "null")

      JSON.parse(answer)&.then { |record| record.merge("requested_at" => Time.iso8601(record["requested_at"])) }
    end

    # The manager's own status command: [its output, the pid it reports up, or nil].
    def status
      out = IO.popen(status_command, err: %i[child out], &:read).strip
      [out, out[up_pattern, 1]&.to_i]
    end

    # Processes of this run still alive (zombies are not).
    def leftovers
      self.class.marked(dir)
    end

    # Processes alive (zombies are not) whose environment has JRESTART_DEMO_DIR=dir (marker's value).
    def self.marked(dir)
      Processes.with_environment("JRESTART_DEMO_DIR", dir)
    end

    # Stops the service and its manager; true when nothing of this run is left.
    def stop
      shutdown
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
      sleep 0.1 while !leftovers.empty? && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      left = leftovers
      left.each do |pid|
        Process.kill(:KILL, pid)
      rescue SystemCallError
        nil
      end
      left.empty?
    end

    private

    def jruby_argv
      JRuby.command(JRuby::FAST_START) + @jruby_options
    end

    # A command run the way a plugin would run one: detached, inheriting nothing.
    def run(*argv, env: {})
      JRestart.launch(*argv, env: marker.merge(env), log: File.join(dir, "#{name}.log")).wait(TIMEOUT)&.success?
    end

    def start_supervisor(*argv)
      @supervisor = JRestart.launch(*argv, env: marker, log: File.join(dir, "#{name}.log"))
    end

    def wait_for_supervisor
      @supervisor&.wait(TIMEOUT)
    end

    def write_run_script(service_dir)
      FileUtils.mkdir_p(service_dir)
      # A nil value unsets the name, e.g. one the suite sets for every process.
      unset, set = service_env.partition { |_, v| v.nil? }
      env = unset.flat_map { |k, _| ["-u", k] } + set.map { |k, v| "#{k}=#{v}" }
      File.write(File.join(service_dir, "run"), <<~SH)
        #!/bin/sh
        exec 2>&1
        exec env #{env.map { |e| Shellwords.escape(e) }.join(" ")} #{service_argv.map { |a| Shellwords.escape(a) }.join(" ")}
      SH
      File.chmod(0o755, File.join(service_dir, "run"))
    end
  end

  # An LSB init script on Debian's start-stop-daemon; the script exports
  # JRESTART_COMMAND for the service, as an /etc/default file would.
  class InitD < Supervised
    def name
      "init.d"
    end

    def start
      run(INIT_SCRIPT, "start", env: init_env)
    end

    private

    def init_env
      jruby, *options = jruby_argv
      service_env.merge("DEMO_JRUBY" => jruby, "DEMO_JRUBY_OPTS" => options.join(" "), "DEMO_SERVICE" => @service)
    end

    def status_command
      [init_env, INIT_SCRIPT, "status"]
    end

    def up_pattern
      /is running \(pid (\d+)\)/
    end

    def shutdown
      run(INIT_SCRIPT, "stop", env: init_env)
    end
  end

  # supervisord in the foreground with its own configuration and socket.
  class Supervisord < Supervised
    def start
      File.write(conf, <<~INI)
        [unix_http_server]
        file=#{dir}/supervisor.sock

        [supervisord]
        nodaemon=true
        logfile=#{dir}/supervisord.log
        pidfile=#{dir}/supervisord.pid
        childlogdir=#{dir}

        [rpcinterface:supervisor]
        supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

        [supervisorctl]
        serverurl=unix://#{dir}/supervisor.sock

        [program:demo]
        command=#{service_argv.join(" ")}
        environment=#{service_env.map { |k, v| %(#{k}="#{v}") }.join(",")}
        directory=/
        autorestart=true
        stopwaitsecs=30
        redirect_stderr=true
        stdout_logfile=#{dir}/demo-service.out
      INI
      start_supervisor("supervisord", "-c", conf)
    end

    private

    def conf
      File.join(dir, "supervisord.conf")
    end

    def status_command
      ["supervisorctl", "-c", conf, "status", "demo"]
    end

    def up_pattern
      /RUNNING\s+pid (\d+)/
    end

    def shutdown
      run("supervisorctl", "-c", conf, "shutdown")
      wait_for_supervisor
    end
  end

  # runit, daemontools and s6: one supervisor process per service directory,
  # driven by that toolkit's own control and status programs.
  class ServiceDirectory < Supervised
    def start
      write_run_script(service_dir)
      start_supervisor(self.class::SUPERVISOR, service_dir)
    end

    private

    def service_dir
      File.join(dir, "service", "demo")
    end

    def status_command
      [*self.class::STATUS, service_dir]
    end

    def up_pattern
      self.class::UP
    end

    def shutdown
      run(*self.class::EXIT, service_dir)
      wait_for_supervisor
    end
  end

  class Runit < ServiceDirectory
    SUPERVISOR = "runsv"
    STATUS = %w[sv status].freeze
    UP = /\Arun: .*\(pid (\d+)\)/.freeze
    EXIT = %w[sv exit].freeze
  end

  class Daemontools < ServiceDirectory
    SUPERVISOR = "supervise"
    STATUS = %w[svstat].freeze
    UP = /: up \(pid (\d+)\)/.freeze
    EXIT = %w[svc -dx].freeze
  end

  class S6 < ServiceDirectory
    SUPERVISOR = "s6-supervise"
    STATUS = %w[s6-svstat].freeze
    UP = /\Aup \(pid (\d+)/.freeze
    EXIT = %w[s6-svc -dx].freeze
  end
end
