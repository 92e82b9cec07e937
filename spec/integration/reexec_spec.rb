# frozen_string_literal: true

require "tmpdir"

# A JRuby service holding a listening port replaces itself with a fresh run
# of its own command line, again and again: same pid, a new generation each
# time, the port answering, and no descriptor carried over.
RSpec.describe "JRestart.reexec!" do
  SERVICE_SCRIPT = File.expand_path("../support/reexec_service.rb", __dir__)
  REEXEC_ROUNDS = Integer(ENV.fetch("REEXEC_ROUNDS", "20"))

  def info(port)
    reply = JRestartDemo.ask(port, "info")
    reply&.split&.map { |n| Integer(n) }
  end

  def wait_for_generation(port, generation)
    wait_until(timeout: 120, message: "generation #{generation} to answer on port #{port}") do
      answer = info(port)
      answer if answer && answer[1] == generation
    end
  end

  it "re-execs a service #{REEXEC_ROUNDS} times: same pid, next generation, port answers, no more fds than a fresh start" do
    Dir.mktmpdir("jrestart-reexec") do |dir|
      port = JRestartDemo.free_port
      # Started by launch, so that the fresh start inherits nothing either.
      service = JRestart.launch(*JRestartDemo::Supervised.jruby, "-I", JRestartDemo::Supervised::LIB, SERVICE_SCRIPT,
                                env: { "DEMO_PORT" => port.to_s }, log: File.join(dir, "service.log"))
      begin
        pid, generation, fresh_fds = wait_for_generation(port, 0)
        expect(pid).to eq(service.pid)
        counts = []
        REEXEC_ROUNDS.times do |round|
          expect(JRestartDemo.ask(port, "reexec")).to eq("reexecing")
          answer = wait_for_generation(port, generation + 1)
          expect(answer[0]).to eq(pid), "round #{round + 1}"
          generation = answer[1]
          counts << answer[2]
          expect(answer[2]).to be <= fresh_fds
        end
        expect(service).not_to be_exited
        RSpec.configuration.reporter.message(
          "\n  reexec!: #{REEXEC_ROUNDS}/#{REEXEC_ROUNDS} rounds, pid #{pid} throughout; descriptors: fresh start " \
          "#{fresh_fds}, after each exec #{counts.minmax.uniq.join("..")}"
        )

        failure = JRestartDemo.ask(port, "reexec-missing /nonexistent/jrestart-java")
        expect(failure).to eq("Errno::ENOENT: No such file or directory - /nonexistent/jrestart-java")
        expect(info(port)).to eq([pid, generation, counts.last])
      ensure
        Process.kill(:TERM, service.pid)
        expect(service.wait(30)).not_to be_nil
      end
    end
  end

  it "leaves no zombie of a command launched before reexec!: the new image reaps it" do
    Dir.mktmpdir do |dir|
      port = JRestartDemo.free_port
      service = JRestart.launch(*JRestartDemo::Supervised.jruby, "-I", JRestartDemo::Supervised::LIB, SERVICE_SCRIPT,
                                env: { "DEMO_PORT" => port.to_s }, log: File.join(dir, "service.log"))
      begin
        pid, = wait_for_generation(port, 0)
        sleeper = Integer(JRestartDemo.ask(port, "launch-sleep"))
        expect(JRestartDemo.ask(port, "reexec")).to eq("reexecing")
        wait_for_generation(port, 1)
        # The hand-over is not passed on to what the new image starts.
        expect(JRestartDemo.ask(port, "handed")).to eq("none")
        sleep 2
        zombies = children_of(pid).select do |child|
          File.read("/proc/#{child}/status")[/^State:\s+Z/]
        rescue SystemCallError
          false
        end
        expect(zombies).to eq([])
        expect(children_of(pid)).not_to include(sleeper)
      ensure
        Process.kill(:TERM, service.pid)
        expect(service.wait(30)).not_to be_nil
      end
    end
  end

  it "keeps the supervisor's pid under runit: sv status shows the same pid, no restart" do
    Dir.mktmpdir("jrestart-reexec-runit") do |dir|
      supervised = JRestartDemo::Supervised.create("runit", dir, JRestartDemo.free_port, service: SERVICE_SCRIPT)
      begin
        supervised.start
        pid, = wait_for_generation(supervised.port, 0)
        expect(supervised.status.last).to eq(pid)
        3.times do |round|
          expect(JRestartDemo.ask(supervised.port, "reexec")).to eq("reexecing")
          expect(wait_for_generation(supervised.port, round + 1).first).to eq(pid)
          text, reported = supervised.status
          expect(reported).to eq(pid), text
        end
      ensure
        expect(supervised.stop).to be(true)
      end
    end
  end
end
