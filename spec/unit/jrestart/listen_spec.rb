# frozen_string_literal: true

require "socket"

# JRestart.listen in the spec process: a fresh bind (nothing was handed to
# this JVM), checked the way TCPServer.new is, and what a restart in place
# would hand on. Adoption across a real exec is in
# spec/integration/listeners_spec.rb.
RSpec.describe "JRestart.listen" do
  let(:host) { "127.0.0.1" }

  # The listen queue the kernel reports for a listener: `ss -ltn`'s Send-Q.
  def backlog(port)
    line = `ss -Hltn sport = :#{port}`.lines.first
    line && Integer(line.split[2])
  end

  def reexec_plan(**options)
    JRestart.send(:__reexec, nil, options)
  end

  after { @servers&.each { |s| s.close unless s.closed? } }

  def listen(*args, **options)
    (@servers ||= []) << JRestart.listen(*args, **options)
    @servers.last
  end

  it "returns a TCPServer that accepts, accepts without blocking, works with IO.select and knows its address" do
    server = listen(host, 0)
    expect(server).to be_a(TCPServer)
    port = server.local_address.ip_port
    expect(server.local_address.ip_address).to eq(host)
    expect { server.accept_nonblock }.to raise_error(IO::WaitReadable)
    client = TCPSocket.new(host, port)
    expect(IO.select([server], nil, nil, 10)).to eq([[server], [], []])
    accepted = server.accept_nonblock
    accepted.puts "hello"
    expect(client.gets).to eq("hello\n")
    [client, accepted].each(&:close)
    client = TCPSocket.new(host, port)
    accepted = server.accept
    expect(accepted.remote_address.ip_port).to eq(client.local_address.ip_port)
    [client, accepted].each(&:close)
  end

  # :sock_diag: ss reads the queue through netlink's sock_diag, which qemu-user does not translate (the
  # arm64 leg's ss shows 0 for a host socket listening with 77).
  it "sets the listen queue natively: 1024 by default, as asked otherwise (JRuby's own stays at 50)", :sock_diag do
    expect(backlog(listen(host, 0).local_address.ip_port)).to eq(1024)
    expect(backlog(listen(host, 0, backlog: 77).local_address.ip_port)).to eq(77)
    plain = TCPServer.new(host, 0)
    plain.listen(1024)
    expect(backlog(plain.addr[1])).to eq(50)
  ensure
    plain&.close
  end

  it "raises Errno::EADDRINUSE as TCPServer.new does for a port in use with nothing inherited" do
    taken = TCPServer.new(host, 0)
    port = taken.addr[1]
    expected = begin
      TCPServer.new(host, port)
    rescue Errno::EADDRINUSE => e
      e
    end
    expect(expected).to be_a(Errno::EADDRINUSE)
    expect { JRestart.listen(host, port) }.to raise_error(Errno::EADDRINUSE, expected.message)
  ensure
    taken&.close
  end

  it "refuses bad arguments with TypeError or ArgumentError" do
    expect { JRestart.listen(host, "http") }.to raise_error(TypeError, /port must be an Integer/)
    expect { JRestart.listen(host, 65_536) }.to raise_error(ArgumentError, "port must be 0 to 65535, got 65536")
    expect { JRestart.listen(host, -1) }.to raise_error(ArgumentError, /port must be 0 to 65535/)
    expect { JRestart.listen(42, 0) }.to raise_error(TypeError, /host must be a String/)
    expect { JRestart.listen(host, 0, backlog: 0) }.to raise_error(ArgumentError, /backlog: must be a positive Integer/)
    expect { JRestart.listen(host, 0, backlog: "9") }.to raise_error(TypeError, /backlog: must be an Integer/)
    expect { JRestart.listen(host, 0, queue: 9) }.to raise_error(ArgumentError, /unknown keyword: :queue/)
  end

  it "lists nothing inherited in a JVM nobody handed listeners to; Listener is a Struct with adopted?" do
    expect(JRestart.listeners).to eq([])
    expect(JRestart::Listener.members).to eq(%i[fd host port name adopted])
    listener = JRestart::Listener.new(3, host, 80, "web", true)
    expect(listener.adopted?).to be(true)
  end

  it "is handed on by a restart in place without being named; listeners: adds others; a closed one is not" do
    server = listen(host, 0)
    expect(reexec_plan.inherited.map(&:fd)).to include(server.fileno)
    expect(reexec_plan.to_s).to match(/^ *listeners +handed to the new JVM: fd #{server.fileno} #{host}:#{server.local_address.ip_port}$/)
    other = TCPServer.new(host, 0)
    expect(reexec_plan(listeners: [other]).inherited.map(&:fd)).to include(server.fileno, other.fileno)
    expect(reexec_plan.inherited.map(&:fd)).not_to include(other.fileno)
    fd = server.fileno
    server.close
    # Closed before the restart is asked for: not handed on any more.
    expect(reexec_plan.inherited.map(&:fd)).not_to include(fd)
  ensure
    other&.close
  end

  it "refuses bad listeners: before anything is planned, naming the descriptor" do
    closed = TCPServer.new(host, 0).tap(&:close)
    file = File.open(__FILE__)
    peer = TCPServer.new(host, 0)
    connected = TCPSocket.new(host, peer.addr[1])
    udp = UDPSocket.new.tap { |s| s.bind(host, 0) }
    expect { reexec_plan(listeners: [closed]) }.to raise_error(Errno::EBADF, /listeners: #<TCPServer:\(closed\)>/)
    expect { reexec_plan(listeners: [file]) }
      .to raise_error(ArgumentError, "listeners: fd #{file.fileno} is not a socket (file)")
    expect { reexec_plan(listeners: [connected]) }
      .to raise_error(ArgumentError, /\Alisteners: fd #{connected.fileno} is a TCP socket that is not listening/)
    expect { reexec_plan(listeners: [udp]) }
      .to raise_error(ArgumentError, /\Alisteners: fd #{udp.fileno} is not a TCP socket \(a datagram socket/)
    expect { reexec_plan(listeners: [9999]) }.to raise_error(Errno::EBADF, /listeners: fd 9999/)
    expect { reexec_plan(listeners: 3) }.to raise_error(TypeError, /listeners: must be an Array/)
    # restart! through a command checks them too, though it hands nothing on.
    expect { JRestart.plan("/bin/true", listeners: [connected]) }.to raise_error(ArgumentError, /not listening/)
  ensure
    [file, peer, connected, udp].each { |io| io&.close }
  end
end
