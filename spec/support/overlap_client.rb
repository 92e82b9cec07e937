# frozen_string_literal: true

require "socket"

module JRestartSpec
  # The client side of spec/support/overlap_service.rb over HTTP: the overlap
  # specs (no manager, an init script, systemd) request through it.
  module OverlapClient
    # One request: [:ok, pid, seconds] or :refused, :reset, :unanswered, or another error's class.
    def request(port, path = "/")
      started = now
      answer = Socket.tcp("127.0.0.1", port, connect_timeout: 60) do |socket|
        socket.write("GET #{path} HTTP/1.0\r\n\r\n")
        socket.wait_readable(120) ? socket.read : nil
      end
      pid = answer.to_s[/\r\n\r\n(\d+) /, 1]
      pid ? [:ok, Integer(pid), now - started] : :unanswered
    rescue Errno::ECONNREFUSED
      :refused
    rescue Errno::ECONNRESET, EOFError
      :reset
    rescue SystemCallError, IOError => e
      e.class
    end

    # The body of one request, or nil.
    def body(port, path)
      Socket.tcp("127.0.0.1", port, connect_timeout: 10) do |socket|
        socket.write("GET #{path} HTTP/1.0\r\n\r\n")
        socket.wait_readable(120) ? socket.read.split("\r\n\r\n", 2)[1] : nil
      end
    rescue SystemCallError, IOError
      nil
    end

    # The pid answering on port once it is not old_pid.
    def answering_other_than(port, old_pid)
      wait_until(timeout: 180, interval: 0.05, message: "a JVM other than #{old_pid}") do
        answer = request(port)
        answer[1] if answer.is_a?(Array) && answer[1] != old_pid
      end
    end

    # Asks the service on port for path (/restart?...) while a client requests every 10 ms and a 2 s request is in
    # flight; waits for a new pid and then for the block (given it) to say the handover is complete. Returns
    # {fresh:, results:, slow:, took: (seconds from the call to the new pid's first answer), failed:, worst:}.
    def overlap_under_load(port, old_pid, path = "/restart")
      prober = Prober.new { request(port) }
      sleep 0.3
      in_flight = Thread.new { request(port, "/slow") }
      sleep 0.2
      asked = now
      raise "the service did not take #{path}" unless body(port, path) == "restarting"

      fresh = answering_other_than(port, old_pid)
      took = now - asked
      wait_until(timeout: 90, message: "the handover to #{fresh} to complete") { yield fresh }
      sleep 0.5
      results = prober.stop
      answered = results.select { |r| r.is_a?(Array) }
      { fresh: fresh, results: results, slow: in_flight.value, took: took,
        failed: results.reject { |r| r.is_a?(Array) }, worst: answered.map(&:last).max,
        by_pid: answered.map { |r| r[1] }.tally }
    end

    # One line for the spec run's output.
    def overlap_report(where, run)
      "overlap, #{where}: #{run[:results].size} requests, #{run[:failed].size} not answered " \
        "(#{run[:failed].tally}), longest wait #{(run[:worst] * 1000).round} ms; new JVM answering " \
        "#{run[:took].round(2)} s after the call (the longest wait is #{(run[:worst] / run[:took] * 100).round(1)}% " \
        "of it); answered by pid #{run[:by_pid]}"
    end
  end
end
