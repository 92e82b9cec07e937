# frozen_string_literal: true

require "socket"
require "tmpdir"
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "jrestart"
require_relative "managers"

# `bin/rake demo [MANAGER=init.d|supervisord|runit|daemontools|s6]`: runs
# examples/demo_service.rb under that service manager, asks it to restart
# itself, and waits until a different pid answers on the same port.
module JRestartDemo
  module_function

  def run(manager: ENV.fetch("MANAGER", "init.d"), out: $stdout)
    Dir.mktmpdir("jrestart-demo") do |dir|
      supervised = Supervised.create(manager, dir, free_port)
      say = ->(label, text) { out.puts(format("  %-10s %s", "#{label}:", text)) }
      out.puts "jrestart demo under #{supervised.name}, service on 127.0.0.1:#{supervised.port}, run directory #{dir}"
      ok = false
      begin
        supervised.start || (return failed(out, dir, "#{supervised.name} could not start the service"))
        old_pid = wait_for(supervised.port) { |pid| pid }
        return failed(out, dir, "the service did not answer on port #{supervised.port}") unless old_pid

        say.("started", "pid #{old_pid}; #{supervised.status.first}")
        round = restart(supervised, old_pid)
        return failed(out, dir, round[:error]) if round[:error]

        say.("restart", "pid #{old_pid} called JRestart.restart!: restart command pid #{round[:restart_pid]}, " \
                        "chosen by #{round[:via]}")
        say.("inherited", "descriptors above 2 the restart command got from the service: #{round[:inherited]}")
        say.("answered", format("new pid %d on the same port, %.2f s after the restart request",
                                round[:new_pid], round[:seconds]))
        say.("status", supervised.status.first)
        log = File.join(dir, "restart.log")
        File.foreach(log) { |line| say.("log", line.chomp) } if File.exist?(log)
        ok = round[:inherited] == "none" && supervised.status.last == round[:new_pid]
      ensure
        stopped = supervised.stop
        say.("stopped", stopped ? "service and #{supervised.name} stopped, nothing left running" : "STOP FAILED")
        ok &&= stopped
      end
      out.puts(ok ? "OK" : "FAILED")
      ok
    end
  end

  # One restart round: asks the service running as old_pid to restart itself
  # and waits for a new pid on the same port.
  def restart(supervised, old_pid)
    asked = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    reply = ask(supervised.port, "restart").to_s
    _, restart_pid, via, inherited = reply.match(/\Arestarting (\d+) via=(\S+) inherited=(\S+)\z/).to_a
    return { error: "the service answered #{reply.inspect} to restart" } unless restart_pid

    new_pid = wait_for(supervised.port) { |pid| pid if pid != old_pid }
    return { error: "no new pid answered within #{Supervised::TIMEOUT}s" } unless new_pid

    { restart_pid: Integer(restart_pid), via: via, inherited: inherited, new_pid: new_pid,
      seconds: Process.clock_gettime(Process::CLOCK_MONOTONIC) - asked }
  end

  def failed(out, dir, why)
    out.puts "FAILED: #{why}"
    Dir.glob(File.join(dir, "*.{log,out}")).sort.each { |path| out.puts("--- #{File.basename(path)}\n#{File.read(path)}") }
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
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + Supervised::TIMEOUT
    while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      answer = ask(port, "pid")
      result = answer =~ /\A\d+\z/ && yield(Integer(answer))
      return result if result

      sleep 0.05
    end
    nil
  end

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end
end
