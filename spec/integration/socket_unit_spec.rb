# frozen_string_literal: true

require "fileutils"
require "json"
require "socket"
require "tmpdir"
require_relative "../support/nspawn"
require_relative "../support/supervised"

# Issue 18 item 4 with a real systemd (252, in systemd-nspawn): a .socket unit
# owns 127.0.0.1:PORT and starts the JRuby service on the first connect, with
# the listener on fd 3 (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES). The service
# adopts it through JRestart.listen and re-execs itself in place while a
# client connects every 10 ms: same MainPID, 0 refused, no LISTEN_* left.
RSpec.describe "a systemd .socket unit starting a JRuby service that adopts fd 3", :systemd do
  SOCKET_SERVICE = File.expand_path("../support/listen_service.rb", __dir__)

  before(:all) do
    reason = JRestartSpec::Nspawn.skip_reason
    skip reason if reason

    @logs = Dir.mktmpdir("jrestart-socket-unit")
    JRestartSpec::Nspawn.ensure_rootfs
    @container = JRestartSpec::Nspawn.new(@logs).boot
  end

  after(:all) { JRestartSpec::Nspawn.finish(@container, @logs) }

  def greeting(port)
    Socket.tcp("127.0.0.1", port, connect_timeout: 60) { |s| s.wait_readable(60) ? (s.gets&.split || :eof) : :silent }
  rescue Errno::ECONNREFUSED
    :refused
  rescue SystemCallError, IOError => e
    e.class
  end

  def ask(port, command)
    Socket.tcp("127.0.0.1", port, connect_timeout: 60) do |socket|
      socket.gets
      socket.puts(command)
      socket.wait_readable(60) && socket.gets&.chomp
    end
  end

  it "adopts the socket unit's listener and keeps it across reexec!: same MainPID, 0 refused" do
    port = JRestartSpec::Loopback.free_port
    @container.install_unit("jlisten.socket", <<~UNIT)
      [Socket]
      ListenStream=127.0.0.1:#{port}
      FileDescriptorName=web
    UNIT
    @container.install_unit("jlisten.service", <<~UNIT)
      [Service]
      ExecStart=#{(@container.jruby_command + [SOCKET_SERVICE]).join(" ")}
      Environment="DEMO_PORT=#{port}" "JRESTART_LIMIT=off"
      SuccessExitStatus=143
    UNIT
    @container.systemctl("start", "jlisten.socket")
    begin
      # The first connect starts the service; it waits in the socket's queue meanwhile.
      first = greeting(port)
      expect(first).to be_a(Array), "#{first}: #{@container.journal("jlisten.service")}"
      pid, token = first
      main = @container.show("jlisten.service", "MainPID")["MainPID"]
      expect(JSON.parse(ask(port, "listeners"))).to eq([{ "fd" => 3, "host" => "127.0.0.1", "port" => port,
                                                        "name" => "web", "adopted" => true }])
      prober = JRestartSpec::Prober.new { greeting(port) }
      sleep 0.3
      expect(ask(port, "reexec")).to eq("reexecing")
      fresh = wait_until(timeout: 120, interval: 0.2, message: "the re-exec'd service") do
        answer = greeting(port)
        answer if answer.is_a?(Array) && answer[1] != token
      end
      sleep 0.3
      results = prober.stop
      expect(fresh[0]).to eq(pid)
      expect(@container.show("jlisten.service", "MainPID", "ActiveState"))
        .to eq("MainPID" => main, "ActiveState" => "active")
      counts = results.group_by { |r| r.is_a?(Array) ? (r[1] == token ? :old : :new) : r }.transform_values(&:size)
      expect(counts.keys - [:old, :new, :eof, Errno::ECONNRESET]).to be_empty, "every connect reached a listener: #{counts}"
      environ = File.read("/proc/#{host_pid(Integer(main))}/environ").split("\0")
      expect(environ.grep(/\ALISTEN_/)).to be_empty
      expect(environ).to include("JRESTART_LISTENERS=3:127.0.0.1:#{port}:web")
      RSpec.configuration.reporter.message("\n  .socket unit, reexec!: #{counts}")
    ensure
      @container.run("systemctl", "stop", "jlisten.socket", "jlisten.service")
    end
  end

  # The host's pid of the container's process pid (its namespace's pid).
  def host_pid(pid)
    namespace = File.readlink("/proc/#{@container.leader}/ns/pid")
    Dir.glob("/proc/[0-9]*").each do |dir|
      next unless File.readlink("#{dir}/ns/pid") == namespace
      return Integer(File.basename(dir)) if File.read("#{dir}/status")[/^NSpid:\s+\d+\s+(\d+)/, 1] == pid.to_s
    rescue SystemCallError
      next
    end
    raise "no process with pid #{pid} in the container"
  end
end
