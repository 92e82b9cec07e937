# frozen_string_literal: true

require "tmpdir"

# A restart happens when the service is already in trouble. STRESS=1 runs the
# heavy rounds; the default runs every path with fewer of them.
STRESS = ENV["STRESS"] == "1"

RSpec.describe "JRestart under load and faults" do
  def settled_census(service)
    wait_until(timeout: 60, message: "every reaper thread to finish") do
      census = service.call("census")
      census if census["reapers"].zero?
    end
  end

  describe "load" do
    before(:all) { @service = JRestartSpec::Processes::Service.new }
    after(:all) { @service&.stop }

    {
      "spawn" => STRESS ? { count: 1000, threads: 32 } : { count: 200, threads: 32 },
      "fork" => STRESS ? { count: 200, threads: 8 } : { count: 40, threads: 8 }
    }.each do |strategy, load|
      it "starts and reaps #{load[:count]} launches (strategy: :#{strategy}) from #{load[:threads]} threads " \
         "while the GC runs continuously, and gives back every descriptor and thread" do
        before = @service.call("census")
        result = @service.call("load", load: load.merge(strategy: strategy, churn: 2, bound: 60))
        expect(result["hung_workers"]).to eq(0)
        expect(result["outcomes"].keys).to eq(["ok"])
        expect(result["launched"]).to be >= load[:count]
        expect(result["gcs_during"]).to be >= 2 # Load::GCS_DURING: the collector ran while they launched
        after = settled_census(@service)
        expect(children_of(@service.pid)).to eq([])
        expect(own_targets(after["fds"])).to eq(own_targets(before["fds"]))
        expect(after["threads"]).to be <= before["threads"]
        expect(@service.serving_pid).to eq(@service.pid)
        puts "\n    #{strategy}: #{result["launched"]} launches, slowest call #{result["max_call_ms"]} ms, " \
             "#{result["gcs"]} GCs meanwhile"
      end
    end
  end

  describe "a full descriptor table" do
    before(:all) { @service = JRestartSpec::Processes::Service.new }
    after(:all) { @service&.stop }

    let(:started) { [] }
    after { started.each { |pid| kill_and_reap(pid) if alive?(pid) } }

    [{}, { close: ":sockets" }, { strategy: ":fork" }, { log: "LOG" }].each do |options|
      # Only 16 descriptors free below the limit: enough for a launch, whatever the JVM opens meanwhile.
      # The table is filled with inheritable files, more of them than are free: close: :sockets holds
      # each for the child and must leave the launch its own descriptors all the same.
      it "starts a command holding no socket of the service from a nearly full table #{options.inspect}" do
        Dir.mktmpdir do |dir|
          options = options.transform_values { |v| v == "LOG" ? File.join(dir, "log") : v }
          before = own_targets(@service.call("census")["fds"])
          reply = @service.call("exhaust_fds", argv: ["/bin/sleep", "60"], options: options, headroom: 40, free: 16,
                                               inheritable: true)
          expect(reply["filled"]).to be > 16
          expect(reply).to include("pid")
          started << reply["pid"]
          expect(fds_above_2(reply["pid"]).map(&:last).grep(/\Asocket:/)).to eq([])
          # The running command's pidfd is the one descriptor the service holds for it until it is reaped.
          pidfd = JRestart.features[:reaper] == :pidfd ? ["anon_inode:[pidfd]"] : []
          expect(own_targets(@service.call("census")["fds"])).to eq(own_targets(before + pidfd))
          expect(@service.serving_pid).to eq(@service.pid)
        end
      end

      # A soft limit of 3: no descriptor can be opened at all, whatever the JVM closes meanwhile.
      it "raises Errno::EMFILE and starts nothing when no descriptor can be opened #{options.inspect}" do
        Dir.mktmpdir do |dir|
          options = options.transform_values { |v| v == "LOG" ? File.join(dir, "log") : v }
          before = own_targets(@service.call("census")["fds"])
          children = children_of(@service.pid)
          reply = @service.call("exhaust_fds", argv: ["/bin/sleep", "60"], options: options, soft: 3)
          expect(reply).to include("error" => "Errno::EMFILE")
          expect(children_of(@service.pid)).to eq(children)
          expect(own_targets(@service.call("census")["fds"])).to eq(before)
          expect(@service.serving_pid).to eq(@service.pid)
        end
      end
    end
  end

  describe "the process limit (RLIMIT_NPROC) reached, as an unprivileged user" do
    before(:all) { @service = JRestartSpec::Processes::Service.new(user: "nobody") }
    after(:all) { @service&.stop }

    %w[:spawn :fork].each do |strategy|
      it "raises Errno::EAGAIN and starts nothing (strategy: #{strategy})" do
        children = children_of(@service.pid)
        reply = @service.call("exhaust_processes", argv: ["/bin/sleep", "60"], options: { strategy: strategy })
        expect(reply).to include("error" => "Errno::EAGAIN")
        expect(reply["message"]).to include("/bin/sleep")
        expect(children_of(@service.pid) - children).to eq([])
        expect(settled_census(@service)["reapers"]).to eq(0)
        expect(@service.serving_pid).to eq(@service.pid)
        # And once the limit is back, the same launch works.
        ok = @service.call("launch", argv: ["/bin/true"], options: { strategy: strategy })
        expect(@service.call("wait", pid: ok["pid"], timeout: 30)).to include("exitstatus" => 0)
      end
    end
  end

  describe "a JVM killed with SIGKILL", :subreaper do
    rounds = STRESS ? 100 : 2

    it "cannot stop a launched command: #{rounds} rounds each right after launch and during delay:" do
      Dir.mktmpdir do |dir|
        ran = 0
        rounds.times do |i|
          [{}, { delay: 0.5 }].each_with_index do |options, j|
            mark = File.join(dir, "ran-#{i}-#{j}")
            service = JRestartSpec::Processes::Service.new
            begin
              # The short sleep keeps the command running while its JVM dies.
              reply = service.call("launch", argv: ["/bin/sh", "-c", "sleep 0.3; echo ran > #{mark}"], options: options)
              service.kill9
              Timeout.timeout(30) { Process.wait(reply["pid"]) } # an orphan now, adopted by this subreaper
              ran += 1 if File.exist?(mark) && File.read(mark) == "ran\n"
            ensure
              service.stop
            end
          end
        end
        expect(ran).to eq(rounds * 2)
      end
    end
  end

  describe "a restart command that fails" do
    before(:all) { @service = JRestartSpec::Processes::Service.new }
    after(:all) { @service&.stop }

    it "is reported truthfully by Launch#wait, and its output is in the log" do
      Dir.mktmpdir do |dir|
        log = File.join(dir, "restart.log")
        failed = @service.call("launch", argv: ["/bin/sh", "-c", "echo stopping; echo cannot start >&2; exit 7"],
                                         options: { log: log })
        expect(@service.call("wait", pid: failed["pid"], timeout: 30)).to eq("exitstatus" => 7, "termsig" => nil)
        killed = @service.call("launch", argv: ["/bin/sh", "-c", "echo about to die; kill -KILL $$"],
                                         options: { log: log, strategy: ":fork" })
        expect(@service.call("wait", pid: killed["pid"], timeout: 30)).to eq("exitstatus" => nil, "termsig" => 9)
        expect(File.read(log)).to eq("stopping\ncannot start\nabout to die\n")
      end
    end
  end
end
