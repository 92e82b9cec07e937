# frozen_string_literal: true

require "ffi"
require "fileutils"
require "socket"
require "stringio"
require "tmpdir"

RSpec.describe JRestart do
  # The same object seen by coreutils: stat -L follows /proc/self/fd/N to it.
  def coreutils_stat(fd)
    out = IO.popen(["stat", "-L", "-c", "%d %i %f %h %u %g %s %X %Y %Z", "/proc/#{Process.pid}/fd/#{fd}"], &:read)
    dev, ino, mode, nlink, uid, gid, size, atime, mtime, ctime = out.split
    { dev: Integer(dev), ino: Integer(ino), mode: Integer(mode, 16), nlink: Integer(nlink), uid: Integer(uid),
      gid: Integer(gid), size: Integer(size), atime: Integer(atime), mtime: Integer(mtime), ctime: Integer(ctime) }
  end

  def expect_same_as_file_stat(io, stat = JRestart.fstat(io))
    ruby = File.stat("/proc/self/fd/#{io.fileno}")
    %i[dev ino mode nlink uid gid rdev size blksize blocks atime mtime ctime].each do |field|
      expect(stat.public_send(field)).to eq(ruby.public_send(field)), "#{field}: #{stat.public_send(field)} vs File::Stat #{ruby.public_send(field)}"
    end
    core = coreutils_stat(io.fileno)
    %i[dev ino mode nlink uid gid size].each { |field| expect(stat.public_send(field)).to eq(core[field]) }
    %i[atime mtime ctime].each { |field| expect(stat.public_send(field).to_i).to eq(core[field]) }
  end

  let(:tmp) { Dir.mktmpdir("jrestart-spec") }
  after { FileUtils.rm_rf(tmp) }

  describe ".socket? and .fstat" do
    it "see a regular file as a file, with File::Stat's and coreutils' values" do
      File.write(File.join(tmp, "f"), "hello")
      File.open(File.join(tmp, "f")) do |f|
        expect(JRestart.socket?(f)).to be(false)
        expect(JRestart.fstat(f).type).to eq(:file)
        expect(JRestart.fstat(f)).to be_file
        expect(JRestart.fstat(f).size).to eq(5)
        expect_same_as_file_stat(f)
      end
    end

    it "see a directory" do
      File.open(tmp) do |dir|
        expect(JRestart.fstat(dir).type).to eq(:directory)
        expect(JRestart.fstat(dir)).to be_directory
        expect(JRestart.socket?(dir)).to be(false)
        expect_same_as_file_stat(dir)
      end
    end

    it "see a fifo" do
      File.mkfifo(File.join(tmp, "fifo"))
      File.open(File.join(tmp, "fifo"), "r+") do |fifo|
        expect(JRestart.fstat(fifo).type).to eq(:fifo)
        expect(JRestart.fstat(fifo)).to be_fifo
        expect_same_as_file_stat(fifo)
      end
    end

    it "see /dev/null as a character device with its rdev" do
      File.open("/dev/null") do |null|
        stat = JRestart.fstat(null)
        expect(stat.type).to eq(:character_device)
        expect(stat).to be_chardev
        expect(stat.rdev).to eq(File.stat("/dev/null").rdev)
        expect_same_as_file_stat(null)
      end
    end

    # Every field, not just ino: ino sits at the same offset in the x86_64 and
    # aarch64 layouts, mode and nlink do not.
    it "see both ends of a pipe as fifos" do
      r, w = IO.pipe
      [r, w].each do |io|
        expect(JRestart.fstat(io).type).to eq(:fifo)
        expect(JRestart.socket?(io)).to be(false)
        expect_same_as_file_stat(io)
      end
    ensure
      [r, w].each { |io| io&.close }
    end

    it "see a TCP listener, a TCP connection and UNIX sockets as sockets, by IO and by fd" do
      server = TCPServer.new("127.0.0.1", 0)
      client = TCPSocket.new("127.0.0.1", server.addr[1])
      accepted = server.accept
      a, b = UNIXSocket.pair
      [server, client, accepted, a, b].each do |io|
        expect(JRestart.socket?(io)).to be(true)
        expect(JRestart.socket?(io.fileno)).to be(true)
        expect(JRestart.fstat(io).type).to eq(:socket)
        expect(JRestart.fstat(io)).to be_socket
        expect_same_as_file_stat(io)
      end
    ensure
      [server, client, accepted, a, b].each { |io| io&.close }
    end

    it "use the real OS descriptor of a JRuby IO" do
      server = TCPServer.new("127.0.0.1", 0)
      expect(File.readlink("/proc/self/fd/#{server.fileno}")).to start_with("socket:[")
      expect(JRestart.fstat(server).ino).to eq(JRestart.fstat(server.fileno).ino)
    ensure
      server&.close
    end

    it "answer false / raise Errno::EBADF for closed and impossible descriptors" do
      io = File.open(__FILE__)
      io.close
      expect(JRestart.socket?(io)).to be(false)
      expect { JRestart.fstat(io) }.to raise_error(Errno::EBADF, /fstat/)
      # A number far above the open ones: a just-closed number may be reused by the JVM at once.
      fd = JRestart.open_fds.map(&:fd).max + 500
      expect(JRestart.socket?(fd)).to be(false)
      expect { JRestart.fstat(fd) }.to raise_error(Errno::EBADF, /fstat\(#{fd}\)/)
      [-1, 2**31, 2**70].each do |bad|
        expect(JRestart.socket?(bad)).to be(false)
        expect { JRestart.fstat(bad) }.to raise_error(Errno::EBADF)
      end
    end

    # JRuby runs such an IO on a Java stream: there is no descriptor a child could inherit.
    it "say an IO on a Java stream is no socket, and fstat raises naming it" do
      io = java.io.ByteArrayInputStream.new("x".to_java_bytes).to_io
      expect(JRestart.socket?(io)).to be(false)
      expect { JRestart.fstat(io) }.to raise_error(JRestart::Error, /no OS descriptor for #{Regexp.escape(io.inspect)}/)
      expect { JRestart.launch("/bin/true", keep: [io]) }.to raise_error(JRestart::Error, /no OS descriptor/)
    ensure
      io&.close
    end

    it "raise TypeError for anything but an Integer or an IO" do
      ["3", nil, 3.0, :three, Object.new, StringIO.new].each do |bad|
        expect { JRestart.socket?(bad) }.to raise_error(TypeError, /Integer file descriptor or an IO/)
        expect { JRestart.fstat(bad) }.to raise_error(TypeError, /Integer file descriptor or an IO/)
      end
    end
  end

  describe ".open_fds socket details" do
    it "give family, local address and listening state from getsockname and SO_ACCEPTCONN" do
      server = TCPServer.new("127.0.0.1", 0)
      client = TCPSocket.new("127.0.0.1", server.addr[1])
      server6 = TCPServer.new("::1", 0)
      path = File.join(tmp, "s.sock")
      unix = UNIXServer.new(path)
      a, b = UNIXSocket.pair
      fds = JRestart.open_fds.to_h { |d| [d.fd, d] }

      expect(fds[server.fileno].local_address).to eq("127.0.0.1:#{server.addr[1]}")
      expect(fds[server.fileno].family).to eq(:inet6).or eq(:inet) # the JDK opens dual-stack sockets
      expect(fds[server.fileno]).to be_listening
      expect(fds[client.fileno].local_address).to eq("127.0.0.1:#{client.addr[1]}")
      expect(fds[client.fileno]).not_to be_listening
      expect(fds[server6.fileno].to_h).to include(family: :inet6, local_address: "[::1]:#{server6.addr[1]}", listening: true)
      expect(fds[unix.fileno].to_h).to include(family: :unix, local_address: path, listening: true)
      expect(fds[a.fileno].to_h).to include(family: :unix, local_address: "", listening: false)
      expect(fds[a.fileno].inspect).to include("unix unnamed")
    ensure
      [server, client, server6, unix, a, b].each { |io| io&.close }
    end

    it "are nil and false for what is not a socket" do
      File.open(__FILE__) do |f|
        d = JRestart.open_fds.find { |x| x.fd == f.fileno }
        expect([d.family, d.local_address, d.listening?]).to eq([nil, nil, false])
        expect(d.to_h.keys).to eq(%i[fd type target close_on_exec])
      end
    end
  end

  describe ".features" do
    it "reports the libc functions and the struct stat layout in use" do
      glibc = Gem::Version.new(IO.popen(%w[getconf GNU_LIBC_VERSION], &:read)[/[\d.]+/])
      layout = { "x86_64" => "LinuxX86_64Stat", "aarch64" => "LinuxAarch64Stat" }.fetch(RbConfig::CONFIG["host_cpu"])
      kernel = Gem::Version.new(File.read("/proc/sys/kernel/osrelease")[/\A\d+\.\d+/])
      pidfd = glibc >= Gem::Version.new("2.36") && kernel >= Gem::Version.new("5.4")
      expect(JRestart.supported?).to be(true)
      expect(JRestart.features).to eq(supported: true,
                                      fstat: glibc >= Gem::Version.new("2.33") ? :fstat : :__fxstat,
                                      stat_layout: layout,
                                      closefrom: glibc >= Gem::Version.new("2.34"),
                                      chdir: glibc >= Gem::Version.new("2.29"),
                                      close_range: glibc >= Gem::Version.new("2.34"),
                                      reaper: pidfd ? :pidfd : :thread)
    end
  end

  describe ".open_fds" do
    it "lists this process's descriptors with type, /proc target and close-on-exec" do
      server = TCPServer.new("127.0.0.1", 0)
      path = File.join(tmp, "held")
      file = File.open(path, "w")
      fds = JRestart.open_fds.to_h { |d| [d.fd, d] }
      expect(fds.keys).to eq(Dir.children("/proc/self/fd").map(&:to_i).sort & fds.keys)
      expect(fds.keys).to include(0, 1, 2, server.fileno, file.fileno)

      expect(fds[server.fileno].type).to eq(:socket)
      expect(fds[server.fileno]).to be_socket
      expect(fds[server.fileno].target).to eq(File.readlink("/proc/self/fd/#{server.fileno}"))
      expect(fds[file.fileno].type).to eq(:file)
      expect(fds[file.fileno].target).to eq(path)
      fds.each_value do |d|
        flags = File.read("/proc/self/fdinfo/#{d.fd}")[/^flags:\s*(\d+)/, 1].to_i(8)
        expect(d.close_on_exec?).to eq(flags & 0o2000000 != 0), "fd #{d.fd}"
      end
      [true, false].each do |cloexec|
        file.close_on_exec = cloexec
        entry = JRestart.open_fds.find { |d| d.fd == file.fileno }
        expect(entry.to_h).to eq(fd: file.fileno, type: :file, target: path, close_on_exec: cloexec)
      end
    ensure
      server&.close
      file&.close
    end

    # Their st_mode has no type bits: only the /proc/self/fd link says what they are.
    it "names anonymous inodes by their kind, in open_fds and fstat alike" do
      libc = Module.new do
        extend FFI::Library
        ffi_lib FFI::Library::LIBC
        attach_function :timerfd_create, %i[int int], :int
        attach_function :signalfd, %i[int pointer int], :int
        attach_function :pidfd_open, %i[int uint], :int
        attach_function :fanotify_init, %i[uint uint], :int
        attach_function :close, %i[int], :int
      end
      before = JRestart.open_fds.map(&:fd)
      selector = java.nio.channels.Selector.open # an epoll and an eventfd
      watcher = java.nio.file.FileSystems.getDefault.newWatchService # an inotify
      raw = [libc.timerfd_create(1, 0), libc.signalfd(-1, FFI::MemoryPointer.new(:uint8, 128), 0),
             libc.pidfd_open(Process.pid, 0), libc.fanotify_init(0, 0)] # fanotify: root only
      expect(raw.first(3)).to all(be >= 0)
      expected = { "anon_inode:[eventpoll]" => :epoll, "anon_inode:[eventfd]" => :eventfd,
                   "anon_inode:inotify" => :inotify, "anon_inode:[timerfd]" => :timerfd,
                   "anon_inode:[signalfd]" => :signalfd, "anon_inode:[pidfd]" => :pidfd,
                   "anon_inode:[fanotify]" => :anon_inode }
      new_fds = JRestart.open_fds.reject { |d| before.include?(d.fd) }
      anon = new_fds.select { |d| d.target.start_with?("anon_inode:") }
      expect(anon.map(&:target).uniq.sort).to eq(expected.keys.sort - (raw[3].negative? ? ["anon_inode:[fanotify]"] : []))
      anon.each do |d|
        expect(d.type).to eq(expected.fetch(d.target)), d.target
        expect(JRestart.fstat(d.fd).type).to eq(expected.fetch(d.target)), d.target
        expect(JRestart.socket?(d.fd)).to be(false)
      end
    ensure
      selector&.close
      watcher&.close
      raw&.each { |fd| libc.close(fd) if fd >= 0 }
    end
  end

  describe ".notify" do
    around do |example|
      saved = ENV.delete("NOTIFY_SOCKET")
      example.run
    ensure
      saved ? ENV["NOTIFY_SOCKET"] = saved : ENV.delete("NOTIFY_SOCKET")
    end

    # A real Type=notify unit receives it in spec/integration/systemd_spec.rb.
    it "is false without a NOTIFY_SOCKET, or when nothing listens there, and checks its argument" do
      expect(JRestart.notify("READY=1")).to be(false)
      ENV["NOTIFY_SOCKET"] = "/nonexistent/jrestart-notify"
      expect(JRestart.notify("READY=1")).to be(false)
      expect { JRestart.notify(1) }.to raise_error(TypeError, /state must be a String/)
    end
  end
end
