# frozen_string_literal: true

require "tmpdir"

RSpec.describe "JRestart.restart! in a JRuby service" do
  before { @service = JRestartSpec::Processes::Service.new }
  after { @service.stop }

  it "starts one command when 16 threads call it at once, and none on later calls" do
    Dir.mktmpdir do |dir|
      count = File.join(dir, "count")
      argv = ["/bin/sh", "-c", "echo started >> #{count}"]
      reply = @service.call("restart_from_threads", threads: 16, argv: argv, options: {})
      expect(reply["pids"].size).to eq(16)
      expect(reply["pids"].uniq.size).to eq(1)
      expect(reply["same_object"]).to be(true)

      again = @service.call("restart!", argv: argv, options: {})
      expect(again["pid"]).to eq(reply["pids"].first)
      expect(@service.call("wait", pid: again["pid"], timeout: 30)).to include("exitstatus" => 0)
      expect(File.read(count)).to eq("started\n")
    end
  end

  it "does not count a call that raised: the service is untouched and can restart later" do
    Dir.mktmpdir do |dir|
      bad = @service.call("restart!", argv: ["/nonexistent/init.d/svc", "restart"], options: {})
      expect(bad).to include("error" => "Errno::ENOENT")
      expect(bad["message"]).to include("/nonexistent/init.d/svc")
      expect(@service.serving_pid).to eq(@service.pid)

      good = @service.call("restart!", argv: ["/bin/sh", "-c", "echo ok > #{dir}/ok"], options: { log: "#{dir}/log" })
      expect(good["pid"]).to be_a(Integer)
      expect(@service.call("wait", pid: good["pid"], timeout: 30)).to include("exitstatus" => 0)
      expect(File.read("#{dir}/ok")).to eq("ok\n")
    end
  end
end
