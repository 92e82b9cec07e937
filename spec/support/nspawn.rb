# frozen_string_literal: true

require "fileutils"
require "json"
require "open3"
require "shellwords"
require "tmpdir"
require_relative "jruby"

module JRestartSpec
  # A real systemd 252 booted with systemd-nspawn from a Debian 12 rootfs, for
  # the specs that restart JRuby services from inside systemd units. The
  # machine's own PID 1 is not systemd, so this is the only real one there is.
  #
  # The rootfs is built once with debootstrap and cached outside the work tree;
  # every boot runs it with --volatile=overlay, so whatever a run writes lands
  # in a tmpfs and the next boot starts from the same tree. The container shares
  # the host's network: its services answer on the host's 127.0.0.1.
  class Nspawn
    CACHE = ENV.fetch("JRESTART_ROOTFS_CACHE", "/var/cache/jrestart")
    SUITE = "bookworm"
    # systemd-logind (in systemd) and libpam-systemd give a lingering user its
    # own systemd --user; procps for pgrep/ps inside; util-linux for runuser.
    INCLUDE = %w[systemd systemd-sysv dbus libpam-systemd openjdk-17-jre-headless procps util-linux].freeze
    JAVA = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"
    USER = "jsvc"
    BOOT_TIMEOUT = 60
    PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    class Unavailable < StandardError; end

    # A unit of the system manager, or of manager_user's systemd --user, whose
    # service answers on 127.0.0.1:port and writes to run_dir inside.
    Unit = Struct.new(:name, :port, :run_dir, :manager_user) do
      def service
        "#{name}.service"
      end
    end

    def self.rootfs
      File.join(CACHE, "systemd-#{SUITE}")
    end

    def self.stamp
      "suite=#{SUITE} variant=minbase include=#{INCLUDE.join(",")} user=#{USER}\n"
    end

    # Why the container cannot run here, or nil.
    def self.unavailable
      return "needs root (systemd-nspawn, debootstrap)" unless Process.uid.zero?

      missing = %w[systemd-nspawn debootstrap nsenter].reject do |program|
        PATH.split(":").any? { |dir| File.executable?(File.join(dir, program)) }
      end
      "#{missing.join(", ")} missing (apt-get install systemd-container debootstrap); CI installs them" if missing.any?
    end

    # Why a spec file's container is skipped here, or nil: its Java 17 runs
    # only JRuby 9.4, and a machine that lacks what it needs skips it, except
    # on CI, which must run it.
    def self.skip_reason
      unless JRUBY_VERSION.start_with?("9.")
        return "the container's Java 17 cannot run JRuby #{JRUBY_VERSION}; the JRuby 9.4 leg runs these"
      end

      unavailable unless ENV["CI"]
    end

    # A spec file's after(:all): shuts container down (when it booted) and
    # removes logs; raises when the container did not go cleanly.
    def self.finish(container, logs)
      problems = container ? container.shutdown : []
      FileUtils.rm_rf(logs) if logs
      raise "the container did not go cleanly: #{problems.join("; ")}" unless problems.empty?
    end

    # The Debian mirror apt uses here, from its deb822 sources (never a
    # host named in the repo).
    def self.mirror
      sources = Dir.glob("/etc/apt/sources.list.d/*.sources").map { |path| File.read(path) }.join("\n\n")
      sources.split(/\n\s*\n/).each do |stanza|
        fields = stanza.scan(/^(\w[\w-]*):\s*(.*)$/).to_h
        next unless fields["Types"].to_s.split.include?("deb") && fields["Suites"].to_s.split.include?(SUITE)

        return fields["URIs"].split.first
      end
      File.read("/etc/apt/sources.list")[%r{^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+#{SUITE}\s}, 1] ||
        raise(Unavailable, "no deb source for #{SUITE} in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list")
    rescue Errno::ENOENT
      raise Unavailable, "no apt sources for #{SUITE} on this machine"
    end

    # The cached rootfs, built first if it is missing or was built with
    # another package list. Built in a temporary directory beside it and
    # renamed into place only when complete, so an interrupted build leaves no
    # half rootfs behind to be taken for a whole one.
    def self.ensure_rootfs(log: $stderr)
      FileUtils.mkdir_p(CACHE)
      File.open(File.join(CACHE, ".lock"), File::RDWR | File::CREAT, 0o644) do |lock|
        lock.flock(File::LOCK_EX)
        stamp_path = File.join(rootfs, ".jrestart-stamp")
        return rootfs if File.exist?(stamp_path) && File.read(stamp_path) == stamp

        build(log)
      end
      rootfs
    end

    def self.build(log)
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      tmp = Dir.mktmpdir("systemd-#{SUITE}.building-", CACHE)
      begin
        sh(log, "debootstrap", "--variant=minbase", "--include=#{INCLUDE.join(",")}", SUITE, tmp, mirror)
        # The unprivileged user of the User= and --user units.
        sh(log, "chroot", tmp, "useradd", "--system", "--create-home", "--shell", "/bin/sh", USER)
        FileUtils.rm_rf(Dir.glob(File.join(tmp, "var/cache/apt/archives/*.deb")))
        File.write(File.join(tmp, ".jrestart-stamp"), stamp)
        old = "#{rootfs}.old"
        FileUtils.rm_rf(old)
        File.rename(rootfs, old) if File.exist?(rootfs)
        File.rename(tmp, rootfs)
        FileUtils.rm_rf(old)
      ensure
        FileUtils.rm_rf(tmp) if File.exist?(tmp)
      end
      log.puts(format("jrestart: built %s in %.0f s", rootfs, Process.clock_gettime(Process::CLOCK_MONOTONIC) - started))
    end

    def self.sh(log, *argv)
      out, status = Open3.capture2e({ "PATH" => PATH, "DEBIAN_FRONTEND" => "noninteractive" }, *argv)
      raise Unavailable, "#{argv.first(3).join(" ")} failed (#{status}):\n#{out.lines.last(30).join}" unless status.success?

      log.puts(out) if ENV["JRESTART_NSPAWN_VERBOSE"]
    end
    private_class_method :build, :sh

    # The work tree at its own path (lib/, the built jar, spec/support), and
    # the jruby-complete jar under /opt/jruby: /root, where Maven keeps it, is
    # closed to the unprivileged user.
    WORK_TREE = File.expand_path("../..", __dir__)
    JRUBY_DIR = "/opt/jruby"

    attr_reader :leader, :state, :boot_seconds

    # binds: more host paths bound read-only at the same path inside (the cached Tomcat, say).
    def initialize(log_dir, binds: [])
      @log_dir = log_dir
      @binds = binds
      @jar = java.io.File.new(org.jruby.Ruby.java_class.protection_domain.code_source.location.to_uri).path
    end

    # The argv, up to the script, of a JRuby service run inside by the
    # container's own Java 17.
    def jruby_command
      [JAVA, JRuby::FAST_START, "-jar", File.join(JRUBY_DIR, File.basename(@jar)), "-I", File.join(WORK_TREE, "lib")]
    end

    def console_log
      File.join(@log_dir, "nspawn.log")
    end

    # Boots the container and waits for its systemd to finish starting up:
    # returns "running", or "degraded" with the failed units.
    def boot
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      argv = ["systemd-nspawn", "-q", "-D", self.class.rootfs, "-b", "--register=no", "--keep-unit",
              "--console=pipe", "--volatile=overlay", "--bind-ro=#{WORK_TREE}",
              "--bind-ro=#{File.dirname(@jar)}:#{JRUBY_DIR}", *@binds.map { |path| "--bind-ro=#{path}" }]
      @nspawn = Process.spawn({ "PATH" => PATH }, *argv, in: "/dev/null", out: console_log, err: %i[child out])
      @leader = wait_for("the container's systemd") do
        raise Unavailable, "systemd-nspawn exited:\n#{File.read(console_log)}" if Process.waitpid(@nspawn, Process::WNOHANG)

        pid = `pgrep -P #{@nspawn} -x systemd`.split.first
        pid && Integer(pid)
      end
      @pid_ns = File.readlink("/proc/#{@leader}/ns/pid")
      @state = wait_for("systemctl is-system-running", timeout: BOOT_TIMEOUT) do
        out, = run("systemctl", "is-system-running")
        out.strip if %w[running degraded].include?(out.strip)
      end
      @failed = run("systemctl", "--failed", "--plain", "--no-legend").first.strip if @state == "degraded"
      @boot_seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      self
    end

    def state_report
      @state == "degraded" ? "degraded (failed: #{@failed})" : @state
    end

    # Runs argv inside the container, as root or as user (with its
    # XDG_RUNTIME_DIR, so that `systemctl --user` finds its manager):
    # [stdout and stderr, Process::Status].
    def run(*argv, user: nil)
      env = ["env", "PATH=#{PATH}"]
      env = ["runuser", "-u", user, "--", *env, "XDG_RUNTIME_DIR=/run/user/#{uid(user)}"] if user
      Open3.capture2e("nsenter", "-t", @leader.to_s, "-a", *env, *argv)
    end

    # run, raising unless argv succeeds.
    def run!(*argv, user: nil)
      out, status = run(*argv, user: user)
      raise "#{argv.join(" ")}#{" as #{user}" if user} failed (#{status.exitstatus}): #{out}" unless status.success?

      out
    end

    def uid(user)
      @uids ||= {}
      @uids[user] ||= Integer(File.read(path("/etc/passwd"))[/^#{Regexp.escape(user)}:[^:]*:(\d+):/, 1])
    end

    # A path inside the running container, seen from the host.
    def path(inside)
      "/proc/#{@leader}/root#{inside}"
    end

    # Lets USER's systemd --user run without a login, and waits for it.
    def linger(user = USER)
      run!("loginctl", "enable-linger", user)
      wait_for("#{user}'s systemd --user") do
        out, = run("systemctl", "--user", "is-system-running", user: user)
        %w[running degraded].include?(out.strip)
      end
    end

    # Installs a unit file (a system one, or one of user's) and reloads.
    def install_unit(name, text, user: nil)
      dir = user ? "/home/#{user}/.config/systemd/user" : "/etc/systemd/system"
      run!("install", "-d", *(user ? ["-o", user, "-g", user] : []), dir)
      File.write(path("#{dir}/#{name}"), text)
      systemctl("daemon-reload", user: user)
    end

    def systemctl(*args, user: nil)
      run!("systemctl", *(user ? ["--user"] : []), *args, user: user)
    end

    # Properties of unit, e.g. show(unit, "MainPID", "ActiveState"): a Hash of Strings.
    def show(unit, *properties, user: nil)
      out = systemctl("show", "-p", properties.join(","), unit, user: user)
      out.lines.to_h { |line| line.chomp.split("=", 2) }
    end

    # The unit's journal, for failure messages.
    def journal(unit, user: nil)
      run("journalctl", "--no-pager", "-n", "60", user ? "--user-unit=#{unit}" : "--unit=#{unit}").first
    end

    # Powers the container off (SIGTERM makes nspawn ask its systemd to halt),
    # reaps nspawn, and kills the pid namespace if that took too long. Returns
    # a list of what was wrong: processes of the container or mounts of the
    # rootfs still there, an unclean exit.
    def shutdown(timeout: 30)
      return [] unless @nspawn

      problems = []
      Process.kill(:TERM, @nspawn)
      status = wait_for("nspawn to exit", timeout: timeout, required: false) { Process.waitpid2(@nspawn, Process::WNOHANG)&.last }
      unless status
        problems << "the container did not power off within #{timeout}s: killed"
        Process.kill(:KILL, @leader) if @leader
        status = Process.waitpid2(@nspawn).last
      end
      problems << "systemd-nspawn exited #{status.exitstatus.inspect}" unless status.success?
      @nspawn = nil
      left = processes_left
      problems << "processes of the container left: #{left.join(", ")}" unless left.empty?
      mounts = File.readlines("/proc/self/mountinfo").grep(/#{Regexp.escape(self.class.rootfs)}/)
      problems << "mounts left: #{mounts.join}" unless mounts.empty?
      propagate = "/run/systemd/nspawn/propagate/#{File.basename(self.class.rootfs)}"
      problems << "#{propagate} left" if File.exist?(propagate)
      problems
    end

    private

    def processes_left
      return [] unless @pid_ns

      Dir.glob("/proc/[0-9]*").select do |dir|
        File.readlink("#{dir}/ns/pid") == @pid_ns
      rescue SystemCallError
        false
      end.map { |dir| File.basename(dir) }
    end

    def wait_for(what, timeout: BOOT_TIMEOUT, required: true)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
      loop do
        result = yield
        return result if result
        if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
          return nil unless required

          raise "timed out after #{timeout}s waiting for #{what}"
        end
        sleep 0.1
      end
    end
  end
end
