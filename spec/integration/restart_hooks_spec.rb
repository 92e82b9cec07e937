# frozen_string_literal: true

require "json"
require "timeout"
require "tmpdir"
require_relative "../support/supervised"

# Restart hooks (issue 18, item 2): spec/support/hooks_service.rb registers a
# hook that stops accepting and waits for the requests in flight. A request
# that takes 2 s is in flight when the restart is asked for; it must complete
# in the old JVM, for each mechanism, before a new JVM answers. A hook that
# raises vetoes the restart: nothing is started and the guard counts nothing.
RSpec.describe "restart hooks: the service drains before it restarts" do
  SCRIPT = File.expand_path("../support/hooks_service.rb", __dir__)

  def info(port)
    answer = JRestartSpec::Loopback.ask(port, "info")
    answer&.start_with?("{") ? JSON.parse(answer) : nil
  end

  # The service's info once the block accepts it; nil after timeout.
  def wait_for_info(port, timeout: 120)
    deadline = now + timeout
    while now < deadline
      answer = info(port)
      return answer if answer && yield(answer)

      sleep 0.05
    end
    nil
  end

  def logs(dir)
    Dir.glob(File.join(dir, "*.{log,out}")).sort.map { |path| "--- #{File.basename(path)}\n#{File.read(path)}" }.join("\n")
  end

  def hook_lines(dir)
    path = File.join(dir, "hooks")
    File.exist?(path) ? File.readlines(path, chomp: true) : []
  end

  # The restarts the guard counted in state (one service there).
  def counted(state)
    Dir.glob(File.join(state, "*.restarts")).sum { |path| File.readlines(path).grep(/\A\d+\n\z/).size }
  end

  # Starts the slow request and returns its socket once the service has taken it.
  def slow_request(port, old)
    socket = TCPSocket.open("127.0.0.1", port)
    socket.puts "slow"
    expect(Timeout.timeout(60) { socket.gets }).to eq("working #{old["jvm"]}\n")
    socket
  end

  # The rest of the slow request's answer: "done JVM", or nil when the restart cut it.
  def rest_of(socket)
    Timeout.timeout(60) { socket.gets&.chomp }
  rescue SystemCallError
    nil
  ensure
    socket.close
  end

  # With a request in flight, asks for the restart (line); expects the request
  # to complete in the old JVM and a new JVM to answer. Returns [reply, new info].
  def drains(port, old, line)
    socket = slow_request(port, old)
    asked = now
    reply = JRestartSpec::Loopback.ask(port, line)
    expect(rest_of(socket)).to eq("done #{old["jvm"]}")
    done = now - asked
    fresh = wait_for_info(port) { |answer| answer["jvm"] != old["jvm"] }
    expect(fresh).not_to be_nil, "no new JVM answered after #{line}: #{reply.inspect}"
    setup = RSpec.current_example.example_group.description
    RSpec.configuration.reporter.message(format("\n  %s: the request in flight done %.2f s after the restart was asked," \
                                                " a new JVM answering after %.2f s", setup, done, now - asked))
    [reply, fresh]
  end

  def vetoed(line)
    message = "the restart was vetoed by the restart hook registered at #{SCRIPT}:#{line}: " \
              "IOError: the spec asked for a veto; nothing was started"
    /\Aerror JRestart::Vetoed: #{Regexp.escape(message)}\z/
  end

  HOOK_LINE = File.readlines(SCRIPT).index { |l| l.include?("JRestart.on_restart do") } + 1

  describe "reexec! (in place, same pid)" do
    # The service as a child of this JVM, the guard on, its state in dir/state.
    def service(dir, env = {})
      port = JRestartSpec::Loopback.free_port
      state = File.join(dir, "state")
      Dir.mkdir(state, 0o700)
      launch = JRestart.launch(*JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), SCRIPT,
                               env: { "DEMO_PORT" => port.to_s, "DEMO_RUN_DIR" => dir, "STATE_DIRECTORY" => state,
                                      "JRESTART_LIMIT" => "5/900", **env },
                               log: File.join(dir, "service.log"))
      begin
        old = wait_for_info(port) { true }
        expect(old).not_to be_nil, "the service never answered:\n#{logs(dir)}"
        yield port, old, state
      ensure
        kill_and_reap(launch.pid)
      end
    end

    it "completes the request in flight, then execs: same pid, a new JVM" do
      Dir.mktmpdir("jrestart-hooks") do |dir|
        service(dir) do |port, old, state|
          reply, fresh = drains(port, old, "reexec")
          expect(reply).to be_nil # the exec closed the connection that asked
          expect(fresh["pid"]).to eq(old["pid"])
          expect(hook_lines(dir)).to eq(["#{old["jvm"]} in_place "])
          expect(counted(state)).to eq(1)
        end
      end
    end

    it "control: without the hook, the exec cuts the request in flight" do
      Dir.mktmpdir("jrestart-hooks") do |dir|
        service(dir, "HOOKS_OFF" => "1") do |port, old, _|
          socket = slow_request(port, old)
          JRestartSpec::Loopback.ask(port, "reexec")
          expect(rest_of(socket)).to be_nil
          expect(wait_for_info(port) { |answer| answer["jvm"] != old["jvm"] }).not_to be_nil
        end
      end
    end

    it "vetoes: the hook raises, JRestart::Vetoed names it, nothing is exec'd or counted, a later reexec! works" do
      Dir.mktmpdir("jrestart-hooks") do |dir|
        service(dir) do |port, old, state|
          File.write(File.join(dir, "veto"), "")
          expect(JRestartSpec::Loopback.ask(port, "reexec")).to match(vetoed(HOOK_LINE))
          expect(info(port)).to eq(old)
          expect(counted(state)).to eq(0)
          expect(Dir.glob(File.join(state, "*.record"))).to be_empty

          File.unlink(File.join(dir, "veto"))
          _, fresh = drains(port, old, "reexec")
          expect(fresh["pid"]).to eq(old["pid"])
          expect(counted(state)).to eq(1)
          expect(hook_lines(dir)).to eq(["#{old["jvm"]} in_place ", "#{old["jvm"]} in_place "])
        end
      end
    end
  end

  describe "restart! as PID 1 of a pid namespace (in place after its delay)", :container do
    before(:all) do
      skip "unshare --pid needs root" unless Process.uid.zero?
    end

    it "completes the request in flight, then execs as PID 1; a veto after the delay leaves it serving, to restart later" do
      Dir.mktmpdir("jrestart-hooks") do |dir|
        port = JRestartSpec::Loopback.free_port
        unshare = JRestart.launch("unshare", "--pid", "--fork", "--mount-proc",
                                  *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), SCRIPT,
                                  env: { "DEMO_PORT" => port.to_s, "DEMO_RUN_DIR" => dir },
                                  log: File.join(dir, "service.log"))
        begin
          old = wait_for_info(port) { true }
          expect(old).not_to be_nil, "the service never answered:\n#{logs(dir)}"
          expect(old["pid"]).to eq(1)

          # Vetoed after the delay, on jrestart's thread: nobody is left to raise to, so it is a warning.
          File.write(File.join(dir, "veto"), "")
          expect(JRestartSpec::Loopback.ask(port, "restart")).to eq("restarting in-place")
          log = File.join(dir, "service.log")
          wait_until(timeout: 60, message: "the veto's warning") { File.read(log).include?("vetoed") }
          expect(File.read(log)).to include("jrestart: the exec in place did not happen, the service goes on as it " \
                                            "was: the restart was vetoed by the restart hook registered at #{SCRIPT}")
          expect(info(port)).to eq(old)
          File.unlink(File.join(dir, "veto"))

          reply, fresh = drains(port, old, "restart")
          expect(reply).to eq("restarting in-place")
          expect(fresh["pid"]).to eq(1)
          expect(hook_lines(dir)).to eq(["#{old["jvm"]} in_place spec"] * 2)
        ensure
          kill_all(children_of(unshare.pid))
          expect(unshare.wait(30)).not_to be_nil
        end
      end
    end
  end

  # Debian package => a program of it; CI installs them all (.ci/run).
  { "init.d" => %w[dpkg start-stop-daemon], "supervisord" => %w[supervisor supervisord], "runit" => %w[runit runsv] }
    .each do |manager, (package, program)|
    describe "restart! under #{manager} (a command restart)" do
      before do
        unless ENV["PATH"].split(":").any? { |dir| File.executable?(File.join(dir, program)) } || ENV["CI"]
          skip "#{program} is not installed (apt-get install #{package}); CI installs it"
        end
      end

      it "completes the request in flight before the command starts; a veto starts nothing" do
        Dir.mktmpdir("jrestart-hooks-#{manager}") do |dir|
          supervised = JRestartSpec::Supervised.create(manager, dir, JRestartSpec::Loopback.free_port,
                                                       service: SCRIPT, env: { "JRESTART_LIMIT" => "5/900" })
          begin
            expect(supervised.start).to be_truthy
            port = supervised.port
            old = wait_for_info(port) { true }
            expect(old).not_to be_nil, "the service never answered:\n#{logs(dir)}"

            File.write(File.join(dir, "veto"), "")
            expect(JRestartSpec::Loopback.ask(port, "restart")).to match(vetoed(HOOK_LINE))
            sleep 3 # a command started now would have stopped this JVM by the time it is asked again
            expect(info(port)).to eq(old)
            expect(children_of(old["pid"])).to be_empty
            expect(counted(supervised.state_dir)).to eq(0)
            File.unlink(File.join(dir, "veto"))

            reply, fresh = drains(port, old, "restart")
            expect(reply).to match(/\Arestarting \d+\z/)
            expect(fresh["pid"]).not_to eq(old["pid"])
            expect(hook_lines(dir)).to eq(["#{old["jvm"]} spawn spec"] * 2)
            expect(counted(supervised.state_dir)).to eq(1)
          ensure
            expect(supervised.stop).to be(true), "processes of this run were left running:\n#{logs(dir)}"
          end
        end
      end
    end
  end
end
