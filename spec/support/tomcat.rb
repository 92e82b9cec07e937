# frozen_string_literal: true

require "fileutils"
require "open3"
require "socket"
require "timeout"
require "tmpdir"
require_relative "jruby"
require_relative "processes"
require_relative "supervised"

module JRestartSpec
  # A real Tomcat 10.1 for the specs: fetched from Maven Central once into a
  # cache (like the rootfs caches), a CATALINA_BASE per run with the webapp of
  # spec/support/java/tomcat compiled into it, started as PID 1 of a pid
  # namespace with its listener on fd 0 (the connector's useInheritedChannel).
  class Tomcat
    VERSION = "10.1.59"
    CACHE = ENV.fetch("JRESTART_TOMCAT_CACHE", "/var/cache/jrestart/tomcat-#{VERSION}")
    SOURCES = File.expand_path("java/tomcat", __dir__)
    HOST = "127.0.0.1"

    # CATALINA_HOME: the cached Tomcat, fetched with mvn and unpacked the first
    # time. Raises with mvn's reason when it cannot be fetched: a CI machine
    # must fetch it itself, the spec is not optional.
    def self.home
      stamp = File.join(CACHE, ".jrestart-complete")
      return CACHE if File.exist?(stamp)

      Dir.mktmpdir("jrestart-tomcat-fetch") do |dir|
        artifact = "org.apache.tomcat:tomcat:#{VERSION}:tar.gz"
        begin
          out, status = Open3.capture2e("mvn", "-q", "dependency:copy", "-Dartifact=#{artifact}", "-DoutputDirectory=#{dir}")
        rescue SystemCallError => e
          raise "cannot fetch Tomcat #{VERSION}: mvn did not run (#{e.message}); apt-get install maven"
        end
        raise "cannot fetch Tomcat #{VERSION} (mvn dependency:copy -Dartifact=#{artifact}):\n#{out}" unless status.success?

        # Unpacked beside the cache and renamed into place: a run cut short leaves no half Tomcat behind.
        partial = "#{CACHE}.partial-#{Process.pid}"
        FileUtils.rm_rf(partial)
        FileUtils.mkdir_p(partial)
        out, status = Open3.capture2e("tar", "xzf", File.join(dir, "tomcat-#{VERSION}.tar.gz"), "-C", partial,
                                      "--strip-components=1")
        raise "cannot unpack Tomcat #{VERSION}:\n#{out}" unless status.success?

        File.write(File.join(partial, ".jrestart-complete"), "#{artifact}\n")
        FileUtils.rm_rf(CACHE)
        File.rename(partial, CACHE)
      end
      CACHE
    end

    # javac of the JVM running the specs, or nil.
    def self.javac
      path = File.join(ENV_JAVA.fetch("java.home"), "bin", "javac")
      path if File.executable?(path)
    end

    # The jruby-complete jar this JVM runs (bin/rake's), for the webapp's JRuby.
    def self.jruby_jar
      java.io.File.new(org.jruby.Ruby.java_class.protection_domain.code_source.location.to_uri).path
    end

    attr_reader :base, :port, :marker, :log, :pid
    # The port of a Tomcat that something else (a .socket unit) starts.
    attr_writer :port

    # A CATALINA_BASE in a new tmp dir (under tmp: a directory the container's
    # unprivileged user can read, say): CATALINA_HOME's conf/ with the spec's
    # server.xml, jruby-complete in lib/, the webapp compiled into
    # webapps/ROOT. overlap: also the <Server>'s OverlapListener
    # (java/tomcat/server: JRestart.ready() once Tomcat serves, the old
    # Tomcat's restart hook) compiled into lib/, with jrestart's jar there too.
    def initialize(overlap: false, tmp: nil)
      @home = self.class.home
      @base = Dir.mktmpdir("jrestart-tomcat", tmp)
      @marker = File.join(@base, "destroyed.marker")
      @log = File.join(@base, "catalina.out")
      FileUtils.cp_r(File.join(@home, "conf"), @base)
      FileUtils.cp(File.join(SOURCES, "server.xml"), File.join(@base, "conf"))
      %w[logs temp work lib].each { |dir| FileUtils.mkdir_p(File.join(@base, dir)) }
      FileUtils.ln_s(self.class.jruby_jar, File.join(@base, "lib", "jruby-complete.jar"))
      compile_webapp(File.join(@base, "webapps", "ROOT"))
      add_overlap_listener if overlap
    end

    # jrestart's jar in lib/ (Tomcat's common class path: the listener and the
    # webapp's JRuby then load the same jrestart classes, parent first), the
    # listener compiled beside it (lib/ itself is on that class path), and
    # the listener named in server.xml.
    def add_overlap_listener
      lib = File.join(@base, "lib")
      jar = File.join(JRuby::LIB, "jrestart", "jrestart.jar")
      FileUtils.ln_s(jar, File.join(lib, "jrestart.jar"))
      classpath = [*Dir[File.join(@home, "lib", "*.jar")], File.join(@home, "bin", "tomcat-juli.jar"),
                   self.class.jruby_jar, jar].join(File::PATH_SEPARATOR)
      out, status = Open3.capture2e(self.class.javac, "--release", "11", "-cp", classpath, "-d", lib,
                                    *Dir[File.join(SOURCES, "server", "*.java")])
      raise "javac failed on the Tomcat server listener:\n#{out}" unless status.success?

      server_xml = File.join(@base, "conf", "server.xml")
      xml = File.read(server_xml)
      File.write(server_xml, xml.sub(/(<Server [^>]*>)/) { "#{Regexp.last_match(1)}\n  <Listener className=\"OverlapListener\"/>" })
    end

    # lib/'s jruby-complete.jar pointed at path: where another file system (a container) has the jar.
    def jruby_jar_at(path)
      link = File.join(@base, "lib", "jruby-complete.jar")
      File.unlink(link)
      File.symlink(path, link)
    end

    # The environment and catalina.sh command of this Tomcat (port: its
    # connector's, inherited: on fd 0), for starting it here or in a unit.
    def environment(inherited: true)
      {
        "CATALINA_HOME" => @home, "CATALINA_BASE" => @base, "JAVA_HOME" => ENV_JAVA.fetch("java.home"),
        "CATALINA_OPTS" => "#{JRuby::FAST_START} -Djrestart.port=#{@port} -Djrestart.inherited=#{inherited}",
        "TOMCAT_MARKER" => @marker, "JRESTART_LIB" => JRuby::LIB, "JRESTART_TOMCAT_BASE" => @base
      }
    end

    # The marker's lines, each split: [what, pid, start millis, time millis].
    def marks
      return [] unless File.exist?(@marker)

      File.readlines(@marker, chomp: true).map do |line|
        *what, pid, start, time = line.split
        [what.join(" "), Integer(pid), Integer(start), Integer(time)]
      end
    end

    # Processes of this Tomcat (their environment names its base), zombies left out.
    def processes
      Processes.with_environment("JRESTART_TOMCAT_BASE", @base)
    end

    def compile_webapp(root)
      classes = File.join(root, "WEB-INF", "classes")
      FileUtils.mkdir_p([classes, File.join(root, "META-INF")])
      FileUtils.cp(File.join(SOURCES, "web.xml"), File.join(root, "WEB-INF"))
      FileUtils.cp(File.join(SOURCES, "context.xml"), File.join(root, "META-INF"))
      classpath = [File.join(@home, "lib", "servlet-api.jar"), self.class.jruby_jar].join(File::PATH_SEPARATOR)
      out, status = Open3.capture2e(self.class.javac, "--release", "8", "-Xlint:-options", "-cp", classpath,
                                    "-d", classes, *Dir[File.join(SOURCES, "*.java")])
      raise "javac failed on the Tomcat webapp:\n#{out}" unless status.success?
    end

    # Starts `unshare --pid --fork --mount-proc catalina.sh run` (catalina.sh
    # run execs java: the JVM is PID 1 there), stdout and stderr to log. With
    # inherited: the listener is bound here on a free loopback port and given
    # to Tomcat as stdin (JRuby's Process.spawn passes a TCPServer as in:);
    # without, the connector binds a free port itself (the control). pid: the
    # unshare process, ours to reap.
    #
    # namespace: false starts catalina.sh run as a child of this JVM (the
    # overlap spec: no pid namespace, Tomcat's JVM is pid itself).
    def start(inherited: true, namespace: true)
      server = TCPServer.new(HOST, 0) if inherited
      @port = inherited ? server.addr[1] : Loopback.free_port
      @namespace = namespace
      command = [*(%w[unshare --pid --fork --mount-proc] if namespace), File.join(@home, "bin", "catalina.sh"), "run"]
      @pid = Process.spawn(environment(inherited: inherited), *command, in: server || File::NULL,
                           %i[out err] => [@log, "a"])
      @pid
    ensure
      # Tomcat holds the listener from now on; this JVM's copy would keep the port open after Tomcat is gone.
      server&.close
    end

    # Tomcat's JVM (the unshare process's child), by its pid outside the namespace.
    def jvm_pid
      return @pid unless @namespace

      Dir.glob("/proc/[0-9]*/stat").each do |path|
        fields = File.read(path).split(") ", 2).last.split
        return Integer(File.basename(File.dirname(path))) if Integer(fields[1]) == @pid
      rescue SystemCallError
        next
      end
      nil
    end

    # [status, body] of GET path, or nil when nothing answers (refused, reset, timed out).
    def get(path, timeout: 60, started: nil)
      answer = request(path, timeout: timeout, started: started)
      answer unless answer == :refused
    end

    # A /slow request in flight: its thread (value: [status, body]), returned once the servlet has begun to
    # answer (sent its first line), so that a restart asked for next finds it half answered.
    def slow_in_flight
      started = Queue.new
      slow = Thread.new do
        get("/slow", timeout: 120, started: started)
      ensure
        started.push(false) # no answer at all: the check below fails at once
      end
      return slow if Timeout.timeout(60) { started.pop }

      raise "/slow never began to answer: #{slow.value.inspect}"
    end

    # [status, body] of GET path; :refused when the connect was refused, nil
    # when it was accepted but nothing answered (closed, reset, timed out).
    # started (a Queue) is told when the first bytes of the answer arrive.
    def request(path, timeout: 60, started: nil)
      Socket.tcp(HOST, @port, connect_timeout: 10) do |socket|
        socket.write("GET #{path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        response = +""
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
        while (left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)).positive? && socket.wait_readable(left)
          chunk = socket.read_nonblock(65_536, exception: false)
          break if chunk.nil?

          next if chunk == :wait_readable

          started&.push(true) if response.empty?
          response << chunk
        end
        head, body = response.split("\r\n\r\n", 2)
        status = head.to_s[%r{\AHTTP/1\.1 (\d+)}, 1]
        status && [Integer(status), dechunk(body.to_s)]
      end
    rescue Errno::ECONNREFUSED
      :refused
    rescue SystemCallError, IOError
      nil
    end

    # Tomcat answers small bodies with chunked encoding: the chunks' data.
    def dechunk(body)
      return body unless body =~ /\A\h+\r\n/

      data = +""
      until body.empty?
        size, rest = body.split("\r\n", 2)
        size = size.to_i(16)
        break if size.zero?

        data << rest[0, size]
        body = rest[(size + 2)..].to_s
      end
      data
    end

    def output
      File.exist?(@log) ? File.read(@log) : ""
    end

    # Kills the namespace (its PID 1 first: the kernel then kills the rest) and reaps unshare; removes the base.
    # Without a namespace: kills every process of this Tomcat (a JVM an overlap started too) and reaps pid.
    def stop
      return FileUtils.rm_rf(@base) unless @pid

      jvm = jvm_pid
      [jvm, @pid, *(processes unless @namespace)].compact.uniq.each do |pid|
        Process.kill(:KILL, pid)
      rescue Errno::ESRCH
        nil
      end
      begin
        Process.wait(@pid)
      rescue Errno::ECHILD
        nil # reaped by the spec already (an old JVM that exited after an overlap)
      end
      @pid = nil
      FileUtils.rm_rf(@base)
    end
  end
end
