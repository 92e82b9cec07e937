# frozen_string_literal: true

require "jrestart/manager"

module JRestart
  # Finds the service manager that runs this process, reading only /proc and
  # the environment: it never starts a process. The nearest supervisor in the
  # process tree wins over systemd's cgroup, because a runsv or supervisord may
  # itself run inside a systemd unit, and restarting that unit would restart
  # every service it holds.
  module Detect
    # comm of a supervising process => [manager, how its service dir restarts it]
    SUPERVISORS = {
      "runsv" => [:runit, ->(dir) { ["sv", "restart", dir] }],
      "supervise" => [:daemontools, ->(dir) { ["svc", "-t", dir] }],
      "s6-supervise" => [:s6, ->(dir) { ["s6-svc", "-r", dir] }]
    }.freeze
    SUPERVISOR_ENV = %w[SUPERVISOR_ENABLED SUPERVISOR_PROCESS_NAME SUPERVISOR_GROUP_NAME SUPERVISOR_SERVER_URL].freeze
    MAX_ANCESTORS = 64

    module_function

    def call(pid: Process.pid, env: ENV)
      ancestors = ancestors(pid)
      supervised(ancestors, env) || supervisord(ancestors, env) ||
        systemd(read("/proc/#{pid}/cgroup"), env)
    end

    # [[pid, comm], ...] from the parent of pid up to (not including) pid 1.
    def ancestors(pid)
      chain = []
      MAX_ANCESTORS.times do
        pid = parent_of(pid)
        break if pid.nil? || pid <= 1

        chain << [pid, read("/proc/#{pid}/comm").to_s.chomp]
      end
      chain
    end

    # runit, daemontools and s6 each run one supervisor per service, whose cwd
    # is the service directory.
    def supervised(ancestors, _env)
      ancestors.each do |pid, comm|
        name, restart = SUPERVISORS[comm]
        next unless name

        dir = begin
          File.readlink("/proc/#{pid}/cwd")
        rescue SystemCallError
          return nil # not our user's supervisor: its directory, and so its service, is unknown
        end
        return Manager.new(name, dir, restart.(dir), ["ancestor #{comm} (pid #{pid})", "its cwd #{dir}"])
      end
      nil
    end

    def supervisord(ancestors, env)
      return nil unless env["SUPERVISOR_ENABLED"]

      missing = SUPERVISOR_ENV.reject { |name| env[name] }
      return nil unless missing.empty?

      service = "#{env["SUPERVISOR_GROUP_NAME"]}:#{env["SUPERVISOR_PROCESS_NAME"]}"
      evidence = SUPERVISOR_ENV.map { |name| "#{name}=#{env[name]}" }
      parent = ancestors.find { |_, comm| comm == "supervisord" }
      evidence << "ancestor supervisord (pid #{parent[0]})" if parent
      Manager.new(:supervisord, service,
                  ["supervisorctl", "-s", env["SUPERVISOR_SERVER_URL"], "restart", service], evidence)
    end

    # The unit from the contents of /proc/PID/cgroup: cgroup v2's "0::PATH",
    # or v1's "N:name=systemd:PATH". Processes in a session or another scope
    # were started by hand, not by a unit: nil.
    def systemd(cgroup, env)
      path = cgroup.to_s.lines.map(&:chomp).filter_map do |line|
        _, controllers, p = line.split(":", 3)
        p if controllers == "" || controllers == "name=systemd"
      end.find { |p| p.include?(".service") }
      return nil unless path

      parts = path.split("/").reject(&:empty?)
      user_manager = parts.index { |p| p.match?(/\Auser@\d+\.service\z/) }
      units = parts.each_index.select { |i| parts[i].end_with?(".service") }
      unit_index = user_manager ? units.find { |i| i > user_manager } : units.first
      return nil unless unit_index

      unit = parts[unit_index]
      command = ["systemctl", *(user_manager ? ["--user"] : []), "--no-block", "restart", unit]
      evidence = ["cgroup #{path}"]
      %w[INVOCATION_ID NOTIFY_SOCKET].each { |name| evidence << "#{name}=#{env[name]}" if env[name] }
      Manager.new(:systemd, unit, command, evidence)
    end

    def parent_of(pid)
      stat = read("/proc/#{pid}/stat")
      stat && Integer(stat.split(") ", 2).last.split[1])
    end

    def read(path)
      File.read(path)
    rescue SystemCallError
      nil
    end

    # What detection looked at, for an error that says why it found nothing.
    def explain(pid: Process.pid, env: ENV)
      chain = ancestors(pid).map { |p, comm| "#{comm} #{p}" }
      cgroup = read("/proc/#{pid}/cgroup").to_s.lines.map(&:chomp).select { |l| l.start_with?("0::") || l.include?("name=systemd:") }
      supervisor = SUPERVISOR_ENV.select { |name| env[name] }
      "ancestors: #{chain.empty? ? "none" : chain.join(" <- ")}; " \
        "/proc/#{pid}/cgroup: #{cgroup.empty? ? "no systemd line" : cgroup.join(", ")}; " \
        "#{supervisor.empty? ? "no SUPERVISOR_* variables" : "only #{supervisor.join(", ")} of the SUPERVISOR_* variables"}"
    end
  end
end
