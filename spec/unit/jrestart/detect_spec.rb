# frozen_string_literal: true

# systemd cannot run here as PID 1, so its detection is checked on
# /proc/PID/cgroup contents as systemd hosts write them. The other managers
# are detected for real in spec/integration/managers_spec.rb.
RSpec.describe JRestart::Detect do
  describe ".systemd" do
    def unit(cgroup, env = {})
      described_class.systemd(cgroup, env)
    end

    it "finds a system unit in cgroup v2 (unified)" do
      manager = unit("0::/system.slice/myapp.service\n")
      expect(manager.name).to eq(:systemd)
      expect(manager.service).to eq("myapp.service")
      expect(manager.command).to eq(%w[systemctl --no-block restart myapp.service])
      expect(manager.evidence).to eq(["cgroup /system.slice/myapp.service"])
    end

    it "finds a system unit in cgroup v1 (legacy), from the name=systemd hierarchy" do
      cgroup = <<~CGROUP
        12:pids:/system.slice/myapp.service
        11:memory:/system.slice/myapp.service
        10:devices:/system.slice/myapp.service
        4:cpu,cpuacct:/system.slice/myapp.service
        1:name=systemd:/system.slice/myapp.service
      CGROUP
      expect(unit(cgroup).command).to eq(%w[systemctl --no-block restart myapp.service])
    end

    it "finds it in a hybrid hierarchy too" do
      cgroup = "5:memory:/system.slice/myapp.service\n1:name=systemd:/system.slice/myapp.service\n0::/system.slice/myapp.service\n"
      expect(unit(cgroup).service).to eq("myapp.service")
    end

    it "finds a user unit, restarted with --user" do
      manager = unit("0::/user.slice/user-1000.slice/user@1000.service/app.slice/myapp.service\n")
      expect(manager.service).to eq("myapp.service")
      expect(manager.command).to eq(%w[systemctl --user --no-block restart myapp.service])
    end

    it "finds a templated unit in a nested slice" do
      manager = unit("0::/system.slice/apps.slice/apps-web.slice/web@2.service\n")
      expect(manager.command).to eq(%w[systemctl --no-block restart web@2.service])
    end

    it "finds the unit of a process in a sub-cgroup the unit delegated" do
      expect(unit("0::/system.slice/myapp.service/payload\n").service).to eq("myapp.service")
    end

    it "adds INVOCATION_ID and NOTIFY_SOCKET as supporting evidence" do
      manager = unit("0::/system.slice/myapp.service\n", "INVOCATION_ID" => "0123abcd", "NOTIFY_SOCKET" => "/run/systemd/notify")
      expect(manager.evidence).to eq(["cgroup /system.slice/myapp.service", "INVOCATION_ID=0123abcd",
                                      "NOTIFY_SOCKET=/run/systemd/notify"])
    end

    it "finds nothing for a login session, the user manager itself, a container or the root" do
      ["0::/user.slice/user-1000.slice/session-2.scope\n",
       "0::/user.slice/user-1000.slice/user@1000.service/init.scope\n",
       "0::/system.slice/docker-4f1c.scope\n",
       "0::/\n",
       "1:name=systemd:/\n0::/\n",
       ""].each do |cgroup|
        expect(unit(cgroup)).to be_nil, cgroup.inspect
      end
    end

    # Established without reading cgroups: only a systemd that is PID 1 puts processes in units,
    # and systemd sets INVOCATION_ID in the environment of every unit's processes.
    it "finds a unit in this process's own /proc/self/cgroup exactly when systemd runs it in one" do
      in_unit = File.read("/proc/1/comm").chomp == "systemd" && ENV.key?("INVOCATION_ID")
      expect(unit(File.read("/proc/self/cgroup"))&.name).to eq(in_unit ? :systemd : nil)
    end
  end

  describe ".supervisord" do
    let(:env) do
      { "SUPERVISOR_ENABLED" => "1", "SUPERVISOR_PROCESS_NAME" => "web_01", "SUPERVISOR_GROUP_NAME" => "web",
        "SUPERVISOR_SERVER_URL" => "unix:///run/supervisor.sock" }
    end

    let(:ancestors) { [[4242, "supervisord"]] }

    it "builds supervisorctl from supervisord's environment variables" do
      manager = described_class.supervisord(ancestors, env)
      expect(manager.service).to eq("web:web_01")
      expect(manager.command).to eq(%w[supervisorctl -s unix:///run/supervisor.sock restart web:web_01])
      expect(manager.evidence).to include("SUPERVISOR_SERVER_URL=unix:///run/supervisor.sock",
                                          "ancestor supervisord (pid 4242)")
    end

    it "wants all four variables" do
      env.each_key do |name|
        expect(described_class.supervisord(ancestors, env.reject { |k, _| k == name })).to be_nil, name
      end
    end

    # The variables reach everything a program starts, a cron job's or an ssh login's own session too.
    it "wants supervisord among the ancestors up to the service's session, not only its variables" do
      expect(described_class.supervisord([[4243, "cron"]], env)).to be_nil
    end
  end

  it "explains what it looked at" do
    expect(described_class.explain).to match(/ancestors: .+; \/proc\/\d+\/cgroup: .+; .*SUPERVISOR_\*/)
  end
end
