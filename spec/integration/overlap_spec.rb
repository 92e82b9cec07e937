# frozen_string_literal: true

require "json"
require "socket"
require "tmpdir"
require_relative "../support/supervised"

# Issue 19: restart!(overlap: true) starts the new JVM beside the old one on
# the same listeners; the old one drains and exits once the new one calls
# JRestart.ready!. A client requesting every 10 ms meanwhile is never
# refused, and waits nowhere near a JVM boot. A new JVM that fails leaves
# the old one serving.
RSpec.describe "an overlap restart" do
  OVERLAP_SCRIPT = File.expand_path("../support/overlap_service.rb", __dir__)

  # One HTTP request: [:ok, pid, seconds] or :refused, :reset, or another error's class.
  def request(port, path = "/")
    started = now
    body = Socket.tcp("127.0.0.1", port, connect_timeout: 60) do |socket|
      socket.write("GET #{path} HTTP/1.0\r\n\r\n")
      socket.wait_readable(120) ? socket.read : nil
    end
    pid = body.to_s[/\r\n\r\n(\d+) /, 1]
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

  def events
    File.exist?(@events) ? File.readlines(@events, chomp: true) : []
  end

  # Processes that carry this example's marker (zombies are not).
  def leftovers(marker)
    needle = "JRESTART_OVERLAP_SPEC=#{marker}\0"
    Dir.glob("/proc/[0-9]*").filter_map do |proc_dir|
      pid = File.basename(proc_dir).to_i
      next if pid == Process.pid
      next unless File.binread("#{proc_dir}/environ").include?(needle)
      next if File.read("#{proc_dir}/stat").split(") ", 2).last.start_with?("Z")

      pid
    rescue SystemCallError
      nil
    end
  end

  # Starts the overlap service on its own (no manager), yields [port, first pid]; kills whatever of it is left.
  def unmanaged(env: {})
    Dir.mktmpdir("jrestart-overlap") do |dir|
      port = JRestartSpec::Loopback.free_port
      @events = File.join(dir, "events.log")
      @log = File.join(dir, "service.log")
      marker = dir
      child = JRestart.launch(*JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), OVERLAP_SCRIPT,
                              env: { "DEMO_PORT" => port.to_s, "OVERLAP_LOG" => @events,
                                     "JRESTART_OVERLAP_SPEC" => marker, **env }, log: @log)
      begin
        first = wait_until(timeout: 120, interval: 0.2, message: "the overlap service") do
          answer = request(port)
          answer.is_a?(Array) ? answer[1] : (child.exited? && raise("the service died:\n#{File.read(@log)}"))
        end
        yield port, first, marker
      ensure
        kill_all(leftovers(marker))
        child.wait(30)
        reap_orphans
      end
    end
  end

  # The pid answering on port once it is not old_pid.
  def new_pid(port, old_pid)
    wait_until(timeout: 180, interval: 0.05, message: "a JVM other than #{old_pid}") do
      answer = request(port)
      answer[1] if answer.is_a?(Array) && answer[1] != old_pid
    end
  end

  # Restarts the service on port with path (/restart?...) while a client requests every 10 ms and a 2 s request
  # is in flight; returns [new pid, the client's results, the in-flight request's result, seconds to new pid].
  def overlap_under_load(port, old_pid, path = "/restart")
    prober = JRestartSpec::Prober.new { request(port) }
    sleep 0.3
    in_flight = Thread.new { request(port, "/slow") }
    sleep 0.2
    asked = now
    expect(body(port, path)).to eq("restarting")
    fresh = new_pid(port, old_pid)
    took = now - asked
    wait_until(timeout: 60, message: "the old JVM #{old_pid} to exit") { !alive?(old_pid) }
    sleep 0.5
    [fresh, prober.stop, in_flight.value, took]
  end

  it "hands over to a new JVM beside the old one: 0 refused, every request answered, the wait a fraction of a boot",
     :subreaper do
    unmanaged do |port, old_pid, marker|
      plan = JSON.parse(body(port, "/plan"))
      expect(plan).to include("strategy" => "overlap", "session" => "same", "ready_timeout" => 120.0)
      expect(plan["overlap"]).to match(/no service manager tracks this JVM.*no pid file names it/)

      fresh, results, slow, took = overlap_under_load(port, old_pid)
      answered = results.select { |r| r.is_a?(Array) }
      failed = results.reject { |r| r.is_a?(Array) }
      worst = answered.map(&:last).max
      report("overlap, unmanaged: #{results.size} requests, #{failed.size} not answered (#{failed.tally}), longest " \
             "wait #{(worst * 1000).round} ms; new JVM answering #{took.round(2)} s after the call " \
             "(#{(worst / took * 100).round(1)}% of it); old JVM answered #{answered.count { |r| r[1] == old_pid }}, " \
             "new #{answered.count { |r| r[1] == fresh }}")
      expect(failed).to be_empty
      expect(slow).to match([:ok, old_pid, be > 1.5])
      expect(answered.map { |r| r[1] }.uniq).to contain_exactly(old_pid, fresh)
      expect(worst).to be < took / 3

      lines = events
      expect(lines).to include("#{fresh} ready told=true again=false", "#{old_pid} hook overlap", "#{old_pid} drained",
                               "#{old_pid} at_exit")
      expect(lines.index("#{fresh} ready told=true again=false")).to be < lines.index("#{old_pid} hook overlap")
      expect(lines.grep(/\A#{fresh} listening \h+ inherited=1 parent=#{old_pid}\z/)).not_to be_empty

      record = JSON.parse(body(port, "/record"))
      expect(record).to include("mechanism" => "overlap", "previous_pid" => old_pid, "command_status" => 0,
                                "still_running" => [])
      expect(record["overlap"]).to be_between(0.1, took + 30)
      expect(leftovers(marker)).to eq([fresh])
      # Beside the old one: in its session (the launch gave the first JVM a session of its own).
      expect(session_of(fresh)).to eq(old_pid)
    end
  end

  it "keeps the old JVM serving when the new one fails at boot: 0 refused, and restart! raises with its output",
     :subreaper do
    unmanaged do |port, old_pid, marker|
      prober = JRestartSpec::Prober.new { request(port) }
      sleep 0.3
      expect(body(port, "/restart-now?fail=1")).to match(
        /\Araised JRestart::Error: the new JVM \(pid (\d+)\) exited before it was ready: exited with status 3; this JVM goes on serving as before\. The end of its output:\\noverlap service \1: stdout before failing\\noverlap service \1: the configuration is broken \(OVERLAP_FAIL=1\)/
      )
      sleep 0.5
      results = prober.stop
      failing = Integer(events.grep(/ failing\z/).first.split.first)
      report("overlap, new JVM failing: #{results.size} requests, " \
             "#{results.count { |r| !r.is_a?(Array) }} not answered; failing pid #{failing}")
      expect(results.reject { |r| r.is_a?(Array) }).to be_empty
      expect(results.map { |r| r[1] }.uniq).to eq([old_pid])
      expect(alive?(failing)).to be(false)
      expect(leftovers(marker)).to eq([old_pid])
      expect(JSON.parse(body(port, "/record"))).to be_nil
    end
  end

  it "stops a new JVM that is not ready within ready_timeout (TERM) and counts the attempt with the guard",
     :subreaper do
    unmanaged(env: { "JRESTART_LIMIT" => "1/900" }) do |port, old_pid, marker|
      reply = body(port, "/restart-now?hang=1&ready_timeout=8")
      expect(reply).to match(/\Araised JRestart::Error: the new JVM \(pid (\d+)\) was not ready within 8 s \(ready_timeout:\), and was stopped: exited with status 143; this JVM goes on serving as before/)
      late = Integer(reply[/pid (\d+)/, 1])
      expect(alive?(late)).to be(false)
      expect(leftovers(marker)).to eq([old_pid])
      expect(request(port)).to match([:ok, old_pid, be_a(Float)])
      # The guard counted that attempt: a second one within the window is refused before anything starts.
      expect(body(port, "/restart-now")).to match(/\Araised JRestart::RestartLoop: .*restart/i)
      expect(leftovers(marker)).to eq([old_pid])
    end
  end
end
