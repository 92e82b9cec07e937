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

require "shellwords"
require_relative "../support/supervised"

RSpec.describe "restart! without delay: the command's stdout and stderr, and the 2 s watch" do
  RESTARTABLE = File.expand_path("../support/restartable_service.rb", __dir__)

  # An init script written as many are: the service goes to the background
  # with the script's own stdout and stderr (nohup keeps them when they are
  # not a terminal), so it keeps whatever restart! gave the script.
  def init_script(dir, argv)
    path = File.join(dir, "init-script")
    File.write(path, <<~SH)
      #!/bin/sh
      PIDFILE=#{dir}/service.pid
      case "$1" in
        start) nohup #{argv.shelljoin} & echo $! > "$PIDFILE" ;;
        stop)
          pid=$(cat "$PIDFILE") && kill "$pid" || exit 1
          for i in $(seq 300); do
            state=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -c1)
            [ -n "$state" ] && [ "$state" != Z ] || exit 0
            sleep 0.1
          done
          exit 1 ;;
        restart) "$0" stop && "$0" start ;;
      esac
    SH
    File.chmod(0o755, path)
    path
  end

  def answering_pid(port, other_than: nil)
    wait_until(timeout: 120, interval: 0.1, message: "a service other than #{other_than.inspect} on port #{port}") do
      answer = JRestartSpec::Loopback.ask(port, "pid")
      Integer(answer) if answer =~ /\A\d+\z/ && Integer(answer) != other_than
    end
  end

  def targets(pid)
    Dir.children("/proc/#{pid}/fd").to_h do |fd|
      [fd.to_i, File.readlink("/proc/#{pid}/fd/#{fd}")]
    rescue Errno::ENOENT
      [fd.to_i, nil]
    end
  end

  it "gives a command it does not know /dev/null: the service its init script starts keeps nothing of the old JVM" do
    Dir.mktmpdir do |dir|
      port = JRestartSpec::Loopback.free_port
      script = init_script(dir, JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START) + [RESTARTABLE])
      env = { "DEMO_PORT" => port.to_s, "DEMO_RUN_DIR" => dir, "JRESTART_COMMAND" => "#{script} restart" }
      expect(JRestart.launch(script, "start", env: env).wait(30)).to be_success
      @old = answering_pid(port)
      # No answer may come: the script stops this JVM at once.
      JRestartSpec::Loopback.ask(port, "restart-bare")
      @new = answering_pid(port, other_than: @old)
      fds = targets(@new)
      expect(fds.values_at(1, 2)).to eq(["/dev/null", "/dev/null"]), "the new service's descriptors: #{fds}"
      expect(fds.values.grep(/memfd:|pipe:/)).to eq([]), "the new service's descriptors: #{fds}"
    ensure
      [@old, @new].compact.each do |pid|
        Process.kill(:KILL, pid)
      rescue Errno::ESRCH
        nil
      end
      [@old, @new].compact.each { |pid| wait_until(message: "pid #{pid} to go") { !alive?(pid) } }
    end
  end

  # A real supervisord runs the service, but its program's environment names a
  # server URL nobody listens on (environment= overrides supervisord's own
  # SUPERVISOR_SERVER_URL): the detected supervisorctl fails at once, and its
  # output comes back through the pipe, no log: given.
  it "still raises with a detected manager client's output without log: supervisorctl that cannot reach supervisord" do
    skip "supervisord is not installed (apt-get install supervisor)" unless system("command -v supervisord >/dev/null") || ENV["CI"]

    Dir.mktmpdir("jrestart-client-output") do |dir|
      socket = File.join(dir, "nowhere.sock")
      supervised = JRestartSpec::Supervised.create("supervisord", dir, JRestartSpec::Loopback.free_port,
                                                   service: File.expand_path("../support/restartable_service.rb", __dir__),
                                                   env: { "SUPERVISOR_SERVER_URL" => "unix://#{socket}" })
      begin
        expect(supervised.start).to be_truthy
        pid = supervised.answering_pid
        expect(pid).to be_a(Integer), "the service never answered"
        reply = JRestartSpec::Loopback.ask(supervised.port, "restart-bare").to_s
        expect(reply).to match(/\Aerror JRestart::Error: the restart command supervisorctl failed at once \(exit status \d+\)/)
        expect(reply).to match(/Its output: unix:\/\/#{Regexp.escape(socket)} no such file/)
        expect(JRestartSpec::Loopback.ask(supervised.port, "pid")).to eq(pid.to_s)
      ensure
        expect(supervised.stop).to be(true), "processes of this run were left running"
      end
    end
  end

  # supervisorctl restart is a stop, a line printed, then a start. Its stdout is
  # a pipe to this JVM when no log: is given, and the stop ends the JVM: the
  # line met a pipe with no reader (SIGPIPE), and supervisord never got the
  # start. Found by the orderly-stop work; the service stayed down.
  it "restarts under a real supervisord with no options at all: supervisorctl outlives the JVM's end of its pipe" do
    skip "supervisord is not installed (apt-get install supervisor)" unless system("command -v supervisord >/dev/null") || ENV["CI"]

    Dir.mktmpdir("jrestart-client-pipe") do |dir|
      supervised = JRestartSpec::Supervised.create("supervisord", dir, JRestartSpec::Loopback.free_port,
                                                   service: File.expand_path("../support/restartable_service.rb", __dir__))
      begin
        expect(supervised.start).to be_truthy
        pid = supervised.answering_pid
        expect(pid).to be_a(Integer), "the service never answered"
        reply = JRestartSpec::Loopback.ask(supervised.port, "restart-bare").to_s
        expect(reply).to match(/\Arestarting \d+\z/).or(eq(""))
        expect(supervised.answering_pid(other_than: pid)).to be_a(Integer), "supervisord never started the service again"
      ensure
        expect(supervised.stop).to be(true), "processes of this run were left running"
      end
    end
  end

  it "names where a failing command's output went when it is not a manager client and there is no log:" do
    Dir.mktmpdir do |dir|
      service = JRestartSpec::Processes::Service.new
      begin
        reply = service.call("restart!", argv: ["/bin/sh", "-c", "echo cannot restart; exit 3"], options: {})
        expect(reply).to include("error" => "JRestart::Error")
        expect(reply["message"]).to include("failed at once (exit status 3); the service was left as it was. Its output" \
                                            " went to /dev/null (restart! with log: keeps it)")
        logged = service.call("restart!", argv: ["/bin/sh", "-c", "echo cannot restart; exit 3"],
                                          options: { log: "#{dir}/log" })
        expect(logged["message"]).to end_with("the service was left as it was. Its output: cannot restart")
        expect(service.serving_pid).to eq(service.pid)
      ensure
        service.stop
      end
    end
  end
end

RSpec.describe "restart! without delay: a command killed by a signal" do
  it "while this JVM is not being stopped: raises without claiming that the service was left as it was" do
    service = JRestartSpec::Processes::Service.new
    begin
      reply = service.call("restart!", argv: ["/bin/sh", "-c", "kill -TERM $$"], options: {})
      expect(reply).to include("error" => "JRestart::Error")
      expect(reply["message"]).to include("the restart command /bin/sh was killed by signal 15 within 2000 ms")
      expect(reply["message"]).to include("the service may still restart")
      expect(reply["message"]).not_to include("left as it was")
      expect(service.serving_pid).to eq(service.pid)
    ensure
      service.stop
    end
  end
end
