# frozen_string_literal: true

require "fileutils"
require "json"
require "open3"
require "tmpdir"
require_relative "../support/supervised"

# Issue 18 item 4: a JRuby service listening through JRestart.listen restarts
# in place while a client connects every 10 ms: the listener stays open across
# the exec, connections made meanwhile wait in its queue, and the new JVM
# adopts it, so not one connect is refused. Socket activation (systemd's
# LISTEN_FDS) feeds the same adoption.
RSpec.describe "listeners handed to the next JVM" do
  LISTEN_SCRIPT = File.expand_path("../support/listen_service.rb", __dir__)
  LISTEN_HOST = "127.0.0.1"

  # [pid, token] of the service answering on port, or nil (refused, reset, no answer).
  def greeting(port)
    Socket.tcp(LISTEN_HOST, port, connect_timeout: 5) do |socket|
      socket.wait_readable(30) && socket.gets&.split
    end
  rescue SystemCallError, IOError
    nil
  end

  # Sends command after the greeting; the answer's first line.
  def ask(port, command)
    Socket.tcp(LISTEN_HOST, port, connect_timeout: 5) do |socket|
      socket.gets
      socket.puts(command)
      socket.wait_readable(60) && socket.gets&.chomp
    end
  end

  def wait_for_greeting(port, timeout: 120)
    wait_until(timeout: timeout, interval: 0.2, message: "the service on port #{port}") do
      answer = greeting(port)
      answer if yield(answer)
    end
  end

  # One connect of the prober: :refused (ECONNREFUSED), another error's class, or the [pid, token] it got.
  def probe(port)
    Socket.tcp(LISTEN_HOST, port, connect_timeout: 60) do |socket|
      socket.wait_readable(60) ? (socket.gets&.split || :eof) : :silent
    end
  rescue Errno::ECONNREFUSED
    :refused
  rescue SystemCallError, IOError => e
    e.class
  end

  # Starts script (the listen service unless told; argv before it, env), yields [port, dir, pid, token]; kills and
  # reaps it after.
  def service(prefix: [], env: {}, keep: [], port: JRestartSpec::Loopback.free_port,
              argv: JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), script: LISTEN_SCRIPT)
    Dir.mktmpdir("jrestart-listen") do |dir|
      argv = [*prefix, *argv, script]
      @log = File.join(dir, "service.log")
      @child = JRestart.launch(*argv, env: { "DEMO_PORT" => port.to_s, **env }, keep: keep, log: @log)
      begin
        first = wait_for_greeting(port) { |answer| answer || @child.exited? }
        expect(first).not_to be_nil, "the service never answered:\n#{File.read(File.join(dir, "service.log"))}"
        yield port, dir, *first
      ensure
        kill_all(children_of(@child.pid) + [@child.pid])
        expect(@child.wait(30)).not_to be_nil
      end
    end
  end

  # Runs command on port with a prober going; the new JVM's [pid, token] and the probe counts.
  def restart_under_load(port, command, expected:, old_token:)
    prober = JRestartSpec::Prober.new { probe(port) }
    sleep 0.3
    started = now
    expect(ask(port, command)).to eq(expected)
    fresh = wait_for_greeting(port) { |answer| answer && answer[1] != old_token }
    took = now - started
    sleep 0.3
    results = prober.stop
    counts = results.group_by { |r| r.is_a?(Array) ? (r[1] == old_token ? :old : :new) : r }.transform_values(&:size)
    [fresh, counts, took]
  end

  # Every connect reached a listener: answered by the old or the new JVM, or
  # accepted by the old one and cut by its exec (EOF, reset: the orderly stop
  # is another part's), never refused.
  def expect_none_refused(counts)
    expect(counts.keys - [:old, :new, :eof, Errno::ECONNRESET]).to be_empty, lambda {
      "every connect reached a listener: #{counts}\n#{@log && File.exist?(@log) ? File.read(@log) : ""}"
    }
    expect(counts[:new]).to be > 0
  end

  it "reexec!: 0 refused connects, the same pid answers with a new token on the adopted listener" do
    service do |port, dir, pid, token|
      fresh, counts, took = restart_under_load(port, "reexec", expected: "reexecing", old_token: token)
      expect(fresh[0]).to eq(pid)
      expect_none_refused(counts)
      expect(counts[:new]).to be > 0
      listeners = JSON.parse(ask(port, "listeners"))
      expect(listeners).to eq([{ "fd" => listeners[0]["fd"], "host" => LISTEN_HOST, "port" => port, "name" => nil,
                                 "adopted" => true }])
      expect(File.read(File.join(dir, "service.log")).scan(/^listening #{pid} \h+ fd=(\d+)/).flatten.uniq.size).to eq(1)
      report(format("reexec!: %d connects answered by the old JVM, %d by the new one, %d refused, new JVM in %.1f s",
                    counts[:old] || 0, counts[:new], counts[:refused] || 0, took))
    end
  end

  it "adopts on a plain class path too (java -cp jruby-complete org.jruby.Main, no --add-opens), twice in a row" do
    skip "an installed JRuby runs through its own launcher" if File.executable?(RbConfig.ruby)
    java, *options, jar = JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START).take_while { |w| w != "-I" }
    expect(options.pop).to eq("-jar")
    plain = [java, *options, "-cp", jar, "org.jruby.Main", "-I", JRestartSpec::JRuby::LIB]
    service(argv: plain) do |port, _, pid, token|
      2.times do
        fresh, counts, = restart_under_load(port, "reexec", expected: "reexecing", old_token: token)
        expect(fresh[0]).to eq(pid)
        expect_none_refused(counts)
        expect(JSON.parse(ask(port, "listeners")).map { |l| [l["port"], l["adopted"]] }).to eq([[port, true]])
        token = fresh[1]
      end
    end
  end

  it "reexec!(listeners:) hands on a TCPServer of the service's own, which the next JVM adopts with listen" do
    extra = JRestartSpec::Loopback.free_port
    service(env: { "EXTRA_PORT" => extra.to_s }) do |port, _, pid, token|
      expect(JSON.parse(ask(port, "listeners"))).to eq([])
      fresh, counts, = restart_under_load(port, "reexec-extra", expected: "reexecing", old_token: token)
      expect(fresh[0]).to eq(pid)
      expect_none_refused(counts)
      expect(JSON.parse(ask(port, "listeners")).map { |l| [l["port"], l["adopted"]] }.sort)
        .to eq([[port, true], [extra, true]].sort)
      expect(greeting(extra)).to eq([pid.to_s, fresh[1], "extra"])
    end
  end

  it "refuses bad listeners: (closed, not a socket, connected, UDP) before anything stops" do
    service do |port, _, pid, token|
      errors = JSON.parse(ask(port, "bad-listeners"))
      expect(errors[0]).to match(/\AErrno::EBADF: Bad file descriptor - listeners: #<TCPServer:\(closed\)>\z/)
      expect(errors[1]).to match(/\AArgumentError: listeners: fd \d+ is not a socket \(file\)\z/)
      expect(errors[2]).to match(/\AArgumentError: listeners: fd \d+ is a TCP socket that is not listening/)
      expect(errors[3]).to match(/\AArgumentError: listeners: fd \d+ is not a TCP socket \(a datagram socket/)
      expect(greeting(port)).to eq([pid.to_s, token])
    end
  end

  # Tomcat's useInheritedChannel="true" connector serves only on System.inheritedChannel(), fd 0.
  context "a service on System.inheritedChannel() (fd 0), as Tomcat's useInheritedChannel" do
    CHANNEL_SCRIPT = File.expand_path("../support/inherited_channel_service.rb", __dir__)

    # Starts the channel service with a listener on its fd 0 (bash moves it there), yields [port, pid, token].
    def channel_service
      server = TCPServer.new(LISTEN_HOST, 0)
      fd = server.fileno
      prefix = ["bash", "-c", "exec 0<&#{fd} #{fd}<&-; exec \"$@\"", "bash"]
      service(prefix: prefix, script: CHANNEL_SCRIPT, keep: [server], port: server.addr[1]) do |port, _, pid, token|
        # Only the service holds the listener from here on: a restart that lost it would be refused.
        server.close
        yield port, pid, token
      end
    ensure
      server.close unless server.nil? || server.closed?
    end

    it "reexec!(inherited_channel: 0): the new JVM finds the listener on fd 0, 0 refused, its output in the same log" do
      channel_service do |port, pid, token|
        fresh, counts, took = restart_under_load(port, "reexec", expected: "reexecing", old_token: token)
        report "inherited channel: #{counts}, the new JVM answered after #{took.round(2)} s"
        expect(fresh[0]).to eq(pid)
        expect_none_refused(counts)
        log = File.read(@log)
        expect(log).to include("closing the inherited channel")
        # fds 1 and 2 were held at the restart call: the JDK's close had pointed them at /dev/null.
        expect(log.scan(/^serving #{pid} /).size).to eq(2), log
      end
    end

    it "refuses a bad inherited_channel: (closed, a file, connected, UDP, a String) before anything stops" do
      channel_service do |port, pid, token|
        errors = JSON.parse(ask(port, "bad"))
        expect(errors[0]).to match(/\AErrno::EBADF: Bad file descriptor - inherited_channel: #<TCPServer:\(closed\)>\z/)
        expect(errors[1]).to match(/\AArgumentError: inherited_channel: fd \d+ is not a socket \(file\)\z/)
        expect(errors[2]).to match(/\AArgumentError: inherited_channel: fd \d+ is a TCP socket that is not listening/)
        expect(errors[3]).to match(/\AArgumentError: inherited_channel: fd \d+ is not a TCP socket \(a datagram/)
        expect(errors[4]).to eq("TypeError: inherited_channel: must be an Integer fd or a TCPServer, got String")
        expect(greeting(port)).to eq([pid.to_s, token])
      end
    end
  end

  context "in a container (unshare --pid), restart! in place", :container do
    before(:all) do
      missing = %w[unshare tini].reject { |program| system("command -v #{program} >/dev/null") }
      skip "#{missing.join(", ")} missing (apt-get install util-linux tini)" if missing.any? && !ENV["CI"]
      skip "unshare --pid needs root" unless Process.uid.zero?
    end

    { "the JVM as PID 1" => [], "the JVM under tini" => %w[tini --] }.each do |setup, init|
      it "#{setup}: 0 refused connects across restart!" do
        service(prefix: ["unshare", "--pid", "--fork", "--mount-proc", *init]) do |port, _, pid, token|
          expect(pid).to eq(init.empty? ? "1" : "2")
          fresh, counts, took = restart_under_load(port, "restart", expected: "restarting", old_token: token)
          expect(fresh[0]).to eq(pid)
          expect_none_refused(counts)
          report(format("%s, restart!: %d old, %d new, %d refused, new JVM in %.1f s", setup, counts[:old] || 0,
                        counts[:new], counts[:refused] || 0, took))
        end
      end
    end

    it "hands the listener on even when the service closes it after restart! (its own stop)" do
      service(prefix: %w[unshare --pid --fork --mount-proc]) do |port, _, pid, token|
        fresh, counts, = restart_under_load(port, "restart-close", expected: "restarting", old_token: token)
        expect(fresh[0]).to eq(pid)
        expect_none_refused(counts)
        report("restart! then the service's own close: #{counts}")
      end
    end
  end

  context "systemd socket activation (systemd-socket-activate)" do
    before(:all) do
      @activate = %w[/usr/bin/systemd-socket-activate /lib/systemd/systemd-socket-activate].find { |p| File.executable?(p) }
      skip "systemd-socket-activate missing (Debian's systemd package)" unless @activate || ENV["CI"]
    end

    it "adopts fd 3 (LISTEN_FDS), named, and hands it on across reexec! without LISTEN_FDS" do
      port = JRestartSpec::Loopback.free_port
      prefix = [@activate, "-l", "#{LISTEN_HOST}:#{port}", "--fdname=web", "-E", "DEMO_PORT"]
      service(prefix: prefix, port: port) do |_, _, pid, token|
        listeners = JSON.parse(ask(port, "listeners"))
        expect(listeners).to eq([{ "fd" => 3, "host" => LISTEN_HOST, "port" => port, "name" => "web", "adopted" => true }])
        environ = File.read("/proc/#{pid}/environ").split("\0")
        expect(environ).to include("LISTEN_FDS=1", "LISTEN_PID=#{pid}")
        fresh, counts, = restart_under_load(port, "reexec", expected: "reexecing", old_token: token)
        expect(fresh[0]).to eq(pid)
        expect_none_refused(counts)
        environ = File.read("/proc/#{pid}/environ").split("\0")
        expect(environ.grep(/\ALISTEN_/)).to be_empty
        expect(environ).to include("JRESTART_LISTENERS=3:#{LISTEN_HOST}:#{port}:web", "JRESTART_LISTENERS_PID=#{pid}")
        expect(JSON.parse(ask(port, "listeners"))).to eq(listeners)
      end
    end
  end

  context "stale or wrong inherited listeners" do
    # The service through bash, which names its own pid (the JVM's, after exec) in JRESTART_LISTENERS_PID.
    def named(pid_variable)
      ["/bin/bash", "-c", "export JRESTART_LISTENERS_PID=#{pid_variable}; exec \"$@\"", "bash"]
    end

    it "adopts only a listening TCP socket named with this pid: not a closed fd, a connected or a UDP socket" do
      good = TCPServer.new(LISTEN_HOST, 0)
      peer = TCPServer.new(LISTEN_HOST, 0)
      connected = TCPSocket.new(LISTEN_HOST, peer.addr[1])
      udp = UDPSocket.new.tap { |s| s.bind(LISTEN_HOST, 0) }
      names = ["#{good.fileno}:#{LISTEN_HOST}:#{good.addr[1]}", "#{connected.fileno}:#{LISTEN_HOST}:#{connected.addr[1]}",
               "#{udp.fileno}:#{LISTEN_HOST}:#{udp.addr[1]}", "900:#{LISTEN_HOST}:#{peer.addr[1]}"].join(",")
      kept = [good, connected, udp]
      # launch's keep: passes the descriptors at their own numbers; fd 900 is not open.
      service(prefix: named("$$"), env: { "JRESTART_LISTENERS" => names }, keep: kept) do |port|
        listeners = JSON.parse(ask(port, "listeners"))
        expect(listeners).to eq([{ "fd" => good.fileno, "host" => LISTEN_HOST, "port" => good.addr[1], "name" => nil,
                                   "adopted" => false }])
      end
      # The same good listener named for another pid (an earlier process's environment): stale, not taken.
      service(prefix: named("1"), env: { "JRESTART_LISTENERS" => names }, keep: kept) do |port|
        expect(JSON.parse(ask(port, "listeners"))).to eq([])
      end
    ensure
      [good, peer, connected, udp].each { |io| io&.close }
    end

    it "binds fresh on its own port when the only inherited listener is for another one" do
      taken = TCPServer.new(LISTEN_HOST, 0)
      names = "#{taken.fileno}:#{LISTEN_HOST}:#{taken.addr[1]}"
      service(prefix: named("$$"), env: { "JRESTART_LISTENERS" => names }, keep: [taken]) do |port, dir|
        expect(JSON.parse(ask(port, "listeners")).map { |l| l["adopted"] }).to eq([false])
        expect(File.read(File.join(dir, "service.log"))).to match(/^listening \d+ \h+ fd=\d+ #{LISTEN_HOST}:#{port}$/)
      end
    ensure
      taken&.close
    end
  end

  # The old JVM's threads run until execve stops them, after its descriptors were marked close-on-exec, and the
  # JDK accepts without SOCK_CLOEXEC: a connection accepted in that instant passes to the new image, which never
  # serves it, and its client used to wait for ever (most likely a 12-minute hang seen once; in 3 of 46 rounds of a
  # reexec! loop under a connect flood). The old JVM names the listeners it did not hand on in JRESTART_UNSERVED;
  # the new one closes such connections when jrestart loads. Here bash stands in for the exec: it passes a
  # connection accepted on a listener that is gone, and names its own pid as the exec in place does.
  context "a connection the old JVM accepted as its exec began" do
    # Whether the client of a connection passed to a new JVM (env, script before `require "jrestart"`) sees its
    # end: :eof when the JVM closed it, :open when nothing came within 3 s of jrestart loading.
    def fate_of_inherited_connection(env, before_require = "")
      listener = TCPServer.new(LISTEN_HOST, 0)
      port = listener.addr[1]
      client = TCPSocket.new(LISTEN_HOST, port)
      accepted = listener.accept
      listener.close
      Dir.mktmpdir("jrestart-unserved") do |dir|
        log = File.join(dir, "service.log")
        script = "#{before_require}; require %q(jrestart); $stdout.sync = true; puts %q(loaded); sleep 120"
        argv = ["/bin/bash", "-c", "export JRESTART_LISTENERS_PID=$$; exec \"$@\"", "bash",
                *JRestartSpec::JRuby.command(JRestartSpec::JRuby::FAST_START), "-e", script]
        child = JRestart.launch(*argv, env: env.transform_values { |v| v.gsub("PORT", port.to_s) }, keep: [accepted],
                                log: log)
        accepted.close
        begin
          wait_until(timeout: 120, interval: 0.1, message: "jrestart to load") do
            File.read(log).include?("loaded") || child.exited?
          end
          expect(File.read(log)).to include("loaded")
          client.wait_readable(3) && client.read_nonblock(1, exception: false).nil? ? :eof : :open
        ensure
          kill_all([child.pid])
          expect(child.wait(30)).not_to be_nil
        end
      end
    ensure
      [client, accepted, listener].each { |io| io&.close unless io&.closed? }
    end

    it "is closed by the new JVM when jrestart loads: its client sees the end at once instead of waiting for ever" do
      expect(fate_of_inherited_connection("JRESTART_UNSERVED" => "#{LISTEN_HOST}:PORT")).to eq(:eof)
      expect(fate_of_inherited_connection("JRESTART_UNSERVED" => "0.0.0.0:PORT")).to eq(:eof)
    end

    it "control: left alone when not named, named for another port, or when this JVM listens on that port itself" do
      expect(fate_of_inherited_connection({})).to eq(:open)
      expect(fate_of_inherited_connection("JRESTART_UNSERVED" => "#{LISTEN_HOST}:1")).to eq(:open)
      own = "server = TCPServer.new(%q(#{LISTEN_HOST}), ENV.fetch(%q(OWN_PORT)).to_i)"
      expect(fate_of_inherited_connection({ "JRESTART_UNSERVED" => "#{LISTEN_HOST}:PORT", "OWN_PORT" => "PORT" },
                                          "require %q(socket); #{own}")).to eq(:open)
    end
  end

  context "a plain Java service (JRestart.listen, a Selector), as PID 1 of a pid namespace", :container do
    before(:all) do
      skip "unshare --pid needs root" unless Process.uid.zero?
      javac = File.join(ENV_JAVA.fetch("java.home"), "bin", "javac")
      skip "no javac in #{ENV_JAVA["java.home"]}" unless File.executable?(javac)
      @java_dir = Dir.mktmpdir("jrestart-listen-java")
      support = File.expand_path("../support/java", __dir__)
      classpath_file = File.join(@java_dir, "classpath.txt")
      out, status = Open3.capture2e("mvn", "-q", "-f", File.join(support, "pom.xml"), "dependency:build-classpath",
                                    "-Dmdep.outputFile=#{classpath_file}")
      raise "mvn could not resolve jnr-ffi and jnr-constants:\n#{out}" unless status.success?

      classes = File.join(@java_dir, "classes")
      FileUtils.mkdir_p(classes)
      @classpath = [File.expand_path("../../lib/jrestart/jrestart.jar", __dir__), File.read(classpath_file).strip,
                    classes].join(":")
      out, status = Open3.capture2e(javac, "--release", "8", "-cp", @classpath, "-d", classes,
                                    File.join(support, "ListenService.java"))
      raise "javac failed:\n#{out}" unless status.success?
    end

    after(:all) { FileUtils.rm_rf(@java_dir) if @java_dir }

    it "reports bad input as JRestartException: null, a taken port (EADDRINUSE), a bad backlog" do
      jshell = File.join(ENV_JAVA.fetch("java.home"), "bin", "jshell")
      taken = TCPServer.new(LISTEN_HOST, 0)
      out, status = Open3.capture2e(jshell, "--class-path", @classpath, "-q", "-", stdin_data: <<~JSHELL)
        void t(String what, java.util.concurrent.Callable<?> call) {
          try { System.out.println(what + " returned " + call.call()); }
          catch (org.jrestart.core.posix.JRestartException e) { System.out.println(what + " " + e.kind() + " " + e.errno() + " " + e.getMessage()); }
          catch (Exception e) { System.out.println(what + " threw " + e); }
        }
        t("null", () -> org.jrestart.JRestart.listen(null));
        t("taken", () -> org.jrestart.JRestart.listen(new java.net.InetSocketAddress("#{LISTEN_HOST}", #{taken.addr[1]})));
        t("backlog", () -> org.jrestart.JRestart.listen(new java.net.InetSocketAddress("#{LISTEN_HOST}", 0), 0));
        t("inherited", () -> org.jrestart.JRestart.inheritedChannels());
        /exit
      JSHELL
      expect(status).to be_success, out
      expect(out).to include("null INVALID_ARGUMENT 0 address must not be null")
      expect(out).to include("taken ERRNO 98 bind(2) for \"#{LISTEN_HOST}\" port #{taken.addr[1]} (errno 98)")
      expect(out).to include("backlog INVALID_ARGUMENT 0 backlog: must be a positive Integer, got 0")
      expect(out).to include("inherited returned []")
    ensure
      taken&.close
    end

    it "restarts in place with 0 refused connects; the new JVM adopts the listener on a plain class path" do
      port = JRestartSpec::Loopback.free_port
      Dir.mktmpdir("jrestart-listen-java-run") do |dir|
        java = File.join(ENV_JAVA.fetch("java.home"), "bin", "java")
        argv = ["unshare", "--pid", "--fork", "--mount-proc", java, "-cp", @classpath, "ListenService", port.to_s]
        @child = JRestart.launch(*argv, log: File.join(dir, "service.log"))
        begin
          pid, token = wait_for_greeting(port) { |answer| answer || @child.exited? }
          expect(pid).to eq("1"), File.read(File.join(dir, "service.log"))
          expect(ask(port, "listeners")).to eq("[]")
          fresh, counts, took = restart_under_load(port, "restart", expected: "restarting", old_token: token)
          expect(fresh[0]).to eq("1")
          expect_none_refused(counts)
          expect(ask(port, "listeners")).to match(/\A\[fd \d+ 127\.0\.0\.1:#{port}, adopted\]\z/)
          report(format("plain Java, Selector, restart! in place: %d old, %d new, %d refused, new JVM in %.1f s",
                        counts[:old] || 0, counts[:new], counts[:refused] || 0, took))
        ensure
          kill_all(children_of(@child.pid) + [@child.pid])
          expect(@child.wait(30)).not_to be_nil
        end
      end
    end
  end
end
