# frozen_string_literal: true

require "fileutils"
require "json"
require "tmpdir"
require_relative "../support/supervised"

# A JRuby service holding a listening port replaces itself with a fresh run
# of its own command line, again and again: same pid, a new generation each
# time, the port answering, and no descriptor carried over.
RSpec.describe "JRestart.reexec!" do
  SERVICE_SCRIPT = File.expand_path("../support/reexec_service.rb", __dir__)
  REEXEC_ROUNDS = Integer(ENV.fetch("REEXEC_ROUNDS", "20"))

  def info(port)
    reply = JRestartSpec::Loopback.ask(port, "info")
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
      port = JRestartSpec::Loopback.free_port
      # Started by launch, so that the fresh start inherits nothing either.
      service = JRestart.launch(*JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), SERVICE_SCRIPT,
                                env: { "DEMO_PORT" => port.to_s }, log: File.join(dir, "service.log"))
      begin
        pid, generation, fresh_fds = wait_for_generation(port, 0)
        expect(pid).to eq(service.pid)
        counts = []
        REEXEC_ROUNDS.times do |round|
          expect(JRestartSpec::Loopback.ask(port, "reexec")).to eq("reexecing")
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

        failure = JRestartSpec::Loopback.ask(port, "reexec-missing /nonexistent/jrestart-java")
        expect(failure).to eq("Errno::ENOENT: No such file or directory - /nonexistent/jrestart-java")
        expect(info(port)).to eq([pid, generation, counts.last])
      ensure
        Process.kill(:TERM, service.pid)
        expect(service.wait(30)).not_to be_nil
      end
    end
  end

  # Issue 17 item 14: reexec! is a restart of the service, counted by the guard
  # like a restart in place, with a record for the new image; and the guard's
  # state directory is the JVM's own environment's, which ENV changes do not move.
  it "counts reexec! with the restart-loop guard, records it, and keeps counting where the JVM started" do
    Dir.mktmpdir("jrestart-reexec-guard") do |dir|
      state = File.join(dir, "state")
      moved = File.join(dir, "moved")
      [state, moved].each { |d| Dir.mkdir(d, 0o700) }
      port = JRestartSpec::Loopback.free_port
      service = JRestart.launch(*JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), SERVICE_SCRIPT,
                                env: { "DEMO_PORT" => port.to_s, "STATE_DIRECTORY" => state, "JRESTART_LIMIT" => "2/900" },
                                log: File.join(dir, "service.log"))
      begin
        pid, = wait_for_generation(port, 0)
        expect(JRestartSpec::Loopback.ask(port, "record")).to eq("none")
        2.times do |generation|
          expect(JRestartSpec::Loopback.ask(port, "reexec")).to eq("reexecing")
          expect(wait_for_generation(port, generation + 1)[0]).to eq(pid)
          expect(JRestartSpec::Loopback.ask(port, "record")).to eq("#{pid} in_place")
        end
        counted = Dir.glob(File.join(state, "*.restarts")).flat_map { |f| File.readlines(f).grep(/\A\d+\n\z/) }
        expect(counted.size).to eq(2)

        expect(JRestartSpec::Loopback.ask(port, "reexec-or-error")).to match(/JRestart::RestartLoop: restart refused/)
        # ENV names another directory now: the count stays where the JVM's own environment says.
        expect(JRestartSpec::Loopback.ask(port, "setenv STATE_DIRECTORY #{moved}")).to eq("ok")
        expect(JRestartSpec::Loopback.ask(port, "reexec-or-error")).to match(/JRestart::RestartLoop: restart refused/)
        expect(Dir.children(moved)).to eq([])
        expect(info(port)[0..1]).to eq([pid, 2])
      ensure
        stop_service(service)
      end
    end
  end

  def start_service(command, dir, port)
    JRestart.launch(*command, env: { "DEMO_PORT" => port.to_s }, log: File.join(dir, "service.log"))
  end

  def stop_service(service)
    Process.kill(:TERM, service.pid)
    expect(service.wait(30)).not_to be_nil
  end

  it "comes back with every argument, trailing empty ones included" do
    Dir.mktmpdir("jrestart-reexec-argv") do |dir|
      port = JRestartSpec::Loopback.free_port
      args = ["a", "", "b", "", ""]
      service = start_service([*JRestartSpec::JRuby.command, SERVICE_SCRIPT, *args], dir, port)
      begin
        pid, = wait_for_generation(port, 0)
        expect(JSON.parse(JRestartSpec::Loopback.ask(port, "argv"))).to eq(args)
        expect(JRestartSpec::Loopback.ask(port, "reexec")).to eq("reexecing")
        expect(wait_for_generation(port, 1).first).to eq(pid)
        expect(JSON.parse(JRestartSpec::Loopback.ask(port, "argv"))).to eq(args)
      ensure
        stop_service(service)
      end
    end
  end

  # A JDK package upgrade replaces bin/java in place: /proc/self/exe then reads "... (deleted)".
  # The JVM runs from a JDK whose bin/java is a copy and whose other entries link to this JDK's.
  it "runs the binary that replaced the JVM's on disk, and names a deleted one" do
    Dir.mktmpdir("jrestart-reexec-jdk") do |dir|
      home = ENV_JAVA.fetch("java.home")
      jdk = File.join(dir, "jdk")
      FileUtils.mkdir_p(File.join(jdk, "bin"))
      Dir.children(home).each do |entry|
        File.symlink(File.realpath(File.join(home, entry)), File.join(jdk, entry)) unless entry == "bin"
      end
      launcher = File.join(jdk, "bin", "java")
      FileUtils.cp(File.join(home, "bin", "java"), launcher, preserve: true)
      jar = java.io.File.new(org.jruby.Ruby.java_class.protection_domain.code_source.location.to_uri).path
      port = JRestartSpec::Loopback.free_port
      service = start_service([launcher, "-XX:TieredStopAtLevel=1", "-cp", jar, "org.jruby.Main",
                               "-I", JRestartSpec::JRuby::LIB, SERVICE_SCRIPT], dir, port)
      begin
        pid, = wait_for_generation(port, 0)
        FileUtils.cp(launcher, "#{launcher}.new", preserve: true)
        File.rename("#{launcher}.new", launcher)
        expect(File.readlink("/proc/#{pid}/exe")).to eq("#{launcher} (deleted)")

        expect(JRestartSpec::Loopback.ask(port, "reexec-or-error")).to be_nil # the exec closed the connection
        expect(wait_for_generation(port, 1).first).to eq(pid)
        expect(File.readlink("/proc/#{pid}/exe")).to eq(launcher)

        File.unlink(launcher)
        expect(JRestartSpec::Loopback.ask(port, "reexec-or-error"))
          .to eq("Errno::ENOENT: No such file or directory - #{launcher} (this process's program, deleted since it started)")
        expect(info(port).first(2)).to eq([pid, 1])
      ensure
        stop_service(service)
      end
    end
  end

  it "leaves no zombie of a command launched before reexec!: the new image reaps it" do
    Dir.mktmpdir do |dir|
      port = JRestartSpec::Loopback.free_port
      service = JRestart.launch(*JRestartSpec::JRuby.command, SERVICE_SCRIPT,
                                env: { "DEMO_PORT" => port.to_s }, log: File.join(dir, "service.log"))
      begin
        pid, = wait_for_generation(port, 0)
        sleeper = Integer(JRestartSpec::Loopback.ask(port, "launch-sleep"))
        expect(JRestartSpec::Loopback.ask(port, "reexec")).to eq("reexecing")
        wait_for_generation(port, 1)
        # The hand-over is not passed on to what the new image starts.
        expect(JRestartSpec::Loopback.ask(port, "handed")).to eq("none")
        sleep 2
        zombies = children_of(pid).select do |child|
          File.read("/proc/#{child}/status")[/^State:\s+Z/]
        rescue SystemCallError
          false
        end
        expect(zombies).to eq([])
        expect(children_of(pid)).not_to include(sleeper)
      ensure
        stop_service(service)
      end
    end
  end

  it "keeps the supervisor's pid under runit: sv status shows the same pid, no restart" do
    Dir.mktmpdir("jrestart-reexec-runit") do |dir|
      supervised = JRestartSpec::Supervised.create("runit", dir, JRestartSpec::Loopback.free_port,
                                                   service: SERVICE_SCRIPT)
      begin
        supervised.start
        pid, = wait_for_generation(supervised.port, 0)
        expect(supervised.status.last).to eq(pid)
        3.times do |round|
          expect(JRestartSpec::Loopback.ask(supervised.port, "reexec")).to eq("reexecing")
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
