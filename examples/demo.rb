# frozen_string_literal: true

require "socket"
require "tmpdir"
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "jrestart"

# `bin/rake demo`: starts examples/demo_service.rb through its LSB init script
# (start-stop-daemon, pidfile in a temporary run directory), asks it to restart
# itself, and waits until a different pid answers on the same port.
module JRestartDemo
  INIT_SCRIPT = File.expand_path("init.d/demo-service", __dir__)
  LIB = File.expand_path("../lib", __dir__)
  TIMEOUT = 120

  module_function

  def run(out: $stdout)
    Dir.mktmpdir("jrestart-demo") do |dir|
      port = free_port
      env = environment(dir, port)
      say = ->(label, text) { out.puts(format("  %-10s %s", "#{label}:", text)) }
      out.puts "jrestart demo: #{INIT_SCRIPT} (start-stop-daemon), service on 127.0.0.1:#{port}"
      begin
        init(env, dir, "start") || (return failed(out, dir, "the init script could not start the service"))
        old_pid = wait_for(port) { |pid| pid }
        return failed(out, dir, "the service did not answer on port #{port}") unless old_pid
        say.("started", "pid #{old_pid}")

        asked = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        reply = ask(port, "restart").to_s
        _, restart_pid, inherited = reply.match(/\Arestarting (\d+) inherited=(\S+)\z/).to_a
        return failed(out, dir, "the service answered #{reply.inspect} to restart") unless restart_pid
        say.("restart", "pid #{old_pid} ran `#{File.basename(INIT_SCRIPT)} restart` through JRestart.restart! as pid #{restart_pid}")
        say.("inherited", "descriptors above 2 the restart command got from the service: #{inherited}")

        new_pid = wait_for(port) { |pid| pid if pid != old_pid }
        return failed(out, dir, "no new pid answered within #{TIMEOUT}s") unless new_pid
        seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - asked
        say.("answered", format("new pid %d on the same port, %.2f s after the restart request", new_pid, seconds))
        say.("status", capture(env, "status").strip)
        File.foreach(File.join(dir, "restart.log")) { |line| say.("log", line.chomp) }
        ok = inherited == "none"
      ensure
        stopped = init(env, dir, "stop")
        gone = [old_pid, new_pid].compact.all? { |pid| !alive?(pid) }
        say.("stopped", stopped && gone ? "service stopped, nothing left running" : "STOP FAILED")
        ok &&= stopped && gone
      end
      out.puts(ok ? "OK" : "FAILED")
      ok
    end
  end

  # The init script gets the settings an /etc/default file would give it.
  def environment(dir, port)
    jruby = if File.executable?(RbConfig.ruby)
              [RbConfig.ruby]
            else
              jar = java.io.File.new(org.jruby.Ruby.java_class.protection_domain.code_source.location.to_uri).path
              [File.join(ENV_JAVA.fetch("java.home"), "bin", "java"), "-jar", jar]
            end
    { "DEMO_RUN_DIR" => dir, "DEMO_PORT" => port.to_s, "DEMO_JRUBY" => jruby.first,
      "DEMO_JRUBY_OPTS" => (jruby.drop(1) + ["-I", LIB]).join(" ") }
  end

  # Runs the init script the way a plugin would: detached, nothing of this JVM inherited.
  def init(env, dir, action)
    JRestart.launch(INIT_SCRIPT, action, env: env, log: File.join(dir, "init.log")).wait(TIMEOUT)&.success?
  end

  def capture(env, action)
    IO.popen([env, INIT_SCRIPT, action], &:read)
  end

  def failed(out, dir, why)
    out.puts "FAILED: #{why}"
    %w[init.log demo-service.out restart.log].each do |name|
      path = File.join(dir, name)
      out.puts("--- #{name}\n#{File.read(path)}") if File.exist?(path)
    end
    false
  end

  def ask(port, line)
    TCPSocket.open("127.0.0.1", port) do |socket|
      socket.puts(line)
      socket.gets&.chomp
    end
  rescue SystemCallError
    nil
  end

  # Polls the port until the block accepts the pid it answers with.
  def wait_for(port)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + TIMEOUT
    while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      answer = ask(port, "pid")
      result = answer =~ /\A\d+\z/ && yield(Integer(answer))
      return result if result

      sleep 0.05
    end
    nil
  end

  def alive?(pid)
    File.exist?("/proc/#{pid}") && File.read("/proc/#{pid}/stat").split(") ", 2).last.split.first != "Z"
  end

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end
end
