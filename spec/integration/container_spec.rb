# frozen_string_literal: true

require "json"
require "tmpdir"
require_relative "../support/supervised"

# restart! in a container (issue 11): a pid namespace of its own, made with
# `unshare --pid --fork --mount-proc`, the JVM as its PID 1 or as the child of
# Debian's tini. No manager runs there, and when the namespace's PID 1 exits
# the kernel kills everything else in it, so no detached command can restart
# the service from outside the JVM: it has to restart in place. The control
# shows that a detached command dies with the namespace.
RSpec.describe "restart! in a container (pid namespace)", :container do
  def script
    File.expand_path("../support/restartable_service.rb", __dir__)
  end

  def self.rounds
    Integer(ENV.fetch("ROUNDS", "10"))
  end

  def rounds
    self.class.rounds
  end

  before(:all) do
    missing = %w[unshare tini].reject { |program| system("command -v #{program} >/dev/null") }
    skip "#{missing.join(", ")} missing (apt-get install util-linux tini); CI installs them" if missing.any? && !ENV["CI"]
    skip "unshare --pid needs root" unless Process.uid.zero?
  end

  # What runs the JVM in the namespace, and the JVM's pid there: PID 1, or tini's first child.
  def self.setups
    { "the JVM as PID 1" => [[], 1], "the JVM under tini" => [%w[tini --], 2] }
  end

  # Starts the service in a new pid namespace; yields [port, dir]. Kills the
  # namespace (its PID 1) and reaps unshare whatever happens.
  def in_container(init, prefix: [], env: {})
    Dir.mktmpdir("jrestart-container") do |dir|
      port = JRestartSpec::Loopback.free_port
      argv = [*prefix, "unshare", "--pid", "--fork", "--mount-proc", *init,
              *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), script]
      @unshare = JRestart.launch(*argv, env: { "DEMO_PORT" => port.to_s, "DEMO_RUN_DIR" => dir, **env },
                                        log: File.join(dir, "service.log"))
      begin
        info = wait_for_info(port) { true }
        expect(info).not_to be_nil, "the service never answered:\n#{File.read(File.join(dir, "service.log"))}"
        yield port, dir, info
      ensure
        kill_all(children_of(@unshare.pid))
        expect(@unshare.wait(30)).not_to be_nil
      end
    end
  end

  def info(port)
    answer = JRestartSpec::Loopback.ask(port, "info")
    answer && JSON.parse(answer)
  end

  # The service's info once the block accepts it; nil after timeout.
  def wait_for_info(port, timeout: 60)
    deadline = now + timeout
    while now < deadline
      answer = info(port)
      return answer if answer && yield(answer)
      return nil if @unshare.exited?

      sleep 0.05
    end
    nil
  end

  # One in-place restart: same pid in the namespace, a new JVM answering.
  def restart_in_place(port, old)
    asked = now
    reply = JRestartSpec::Loopback.ask(port, "restart")
    # An in-place restart may replace the JVM before it answers: then no reply.
    expect(reply.to_s).not_to start_with("error"), "restart! raised: #{reply}"
    fresh = wait_for_info(port) { |answer| answer["jvm"] != old["jvm"] }
    expect(fresh).not_to be_nil, "no new JVM answered"
    expect(fresh["pid"]).to eq(old["pid"])
    [fresh, now - asked]
  end

  setups.each do |setup, (init, ns_pid)|
    describe setup do
      it "refuses a named restart command, which would be killed half-way with the namespace" do
        in_container(init, env: { "JRESTART_COMMAND" => "/bin/true" }) do |port, _, info|
          expect(info["pid"]).to eq(ns_pid)
          expect(JRestartSpec::Loopback.ask(port, "restart"))
            .to match(%r{\Aerror JRestart::Error: restart with /bin/true refused: it would die half-way, with this container})
        end
      end

      it "control: a detached JRestart.launch dies with the namespace when its PID 1 exits" do
        in_container(init) do |port, _, info|
          expect(info["pid"]).to eq(ns_pid)
          sleep_ns_pid = Integer(JRestartSpec::Loopback.ask(port, "launch-sleep 30"))
          sleeper = host_pid_in_namespace_of(children_of(@unshare.pid).first, sleep_ns_pid)
          expect(alive?(sleeper)).to be(true)
          expect(session_of(sleeper)).to eq(sleeper) # detached: a session of its own
          expect(JRestartSpec::Loopback.ask(port, "exit")).to eq("exiting")
          wait_until(message: "the detached sleep (pid #{sleeper}) to be killed with the namespace") { !alive?(sleeper) }
        end
      end

      it "restart! with no command restarts in place #{rounds} times: pid #{ns_pid} throughout, a new JVM each round" do
        in_container(init) do |port, _, info|
          plan = JSON.parse(JRestartSpec::Loopback.ask(port, "plan"))
          expect(plan).to include("source" => "detected", "manager" => "container", "strategy" => "exec")
          seconds = rounds.times.map do
            info, took = restart_in_place(port, info)
            took
          end
          report(format("%s: %d in-place restarts, request to new JVM answering: median %.2f s, max %.2f s",
                        setup, rounds, seconds.sort[seconds.size / 2], seconds.max))
        end
      end
    end
  end

  it "restart! in place stays correct at a container's descriptor limit (RLIMIT_NOFILE 2^30)" do
    limit = 1 << 30
    nr_open = Integer(File.read("/proc/sys/fs/nr_open"))
    # Docker and containerd give containers 2^30; the kernel allows it only
    # up to fs.nr_open, raised for this example alone.
    File.write("/proc/sys/fs/nr_open", limit.to_s) if nr_open < limit
    # Raising the hard limit takes CAP_SYS_RESOURCE, which some hosts' root lacks.
    unless system("prlimit", "--nofile=#{limit}:#{limit}", "true", err: File::NULL)
      skip "cannot raise RLIMIT_NOFILE to 2^30 here (hard limit #{Process.getrlimit(:NOFILE).last}; " \
           "CAP_SYS_RESOURCE: #{(Integer(proc_status("self", "CapEff"), 16) >> 24).odd?})"
    end
    in_container([], prefix: ["prlimit", "--nofile=#{limit}:#{limit}"]) do |port, _, info|
      expect(info["nofile"]).to eq([limit, limit])
      fresh, took = restart_in_place(port, info)
      expect(fresh["nofile"]).to eq([limit, limit])
      report(format("RLIMIT_NOFILE 2^30: in-place restart in %.2f s", took))
    end
  ensure
    File.write("/proc/sys/fs/nr_open", nr_open.to_s) if nr_open && nr_open < limit
  end

  # Issue 17 item 9: the exec in place slept (long)(delay * 1000) for any delay; one
  # maximum now holds for every path, in place too.
  it "plan(delay:) refuses more than a day for a restart in place too (the JVM is PID 1)" do
    script = <<~RUBY
      require "jrestart"
      puts JRestart.plan(delay: 1).to_s[/^ *in place .*/]
      begin
        JRestart.plan(delay: 10**9)
        puts "accepted"
      rescue ArgumentError => e
        puts e.message
      end
    RUBY
    argv = ["unshare", "--pid", "--fork", "--mount-proc", *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START),
            "-e", script]
    out = IO.popen(argv, err: %i[child out], &:read)
    expect(out).to match(/^ *in place +nothing started from here outlives this container/)
    expect(out).to match(/^delay: must be at most 86400 seconds \(one day\), got 1000000000/)
  end

  # The host pid of the process that has pid ns_pid in the pid namespace of host_pid.
  def host_pid_in_namespace_of(host_pid, ns_pid)
    namespace = File.readlink("/proc/#{host_pid}/ns/pid")
    Dir.glob("/proc/[0-9]*").each do |dir|
      next unless File.readlink("#{dir}/ns/pid") == namespace
      return Integer(File.basename(dir)) if File.read("#{dir}/status")[/^NSpid:\s+\d+\s+(\d+)/, 1] == ns_pid.to_s
    rescue SystemCallError
      next
    end
    raise "no process with pid #{ns_pid} in the namespace of #{host_pid}"
  end
end
