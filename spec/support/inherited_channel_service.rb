# frozen_string_literal: true

# A JRuby service that serves only on System.inheritedChannel(), as Tomcat's
# useInheritedChannel="true" connector does: the listener must be on fd 0.
# Each connection gets "PID TOKEN" (TOKEN is new at every start), then may send:
#   reexec -> "reexecing", then JRestart.reexec!(inherited_channel: 0); a
#             restart hook closes the channel first, as a host's stop does (the
#             JDK then points fds 0 to 2 at /dev/null)
#   bad    -> what reexec!(inherited_channel: ...) raises for a closed TCPServer,
#             a file, a connected socket, a UDP socket and a String, as JSON
require "json"
require "securerandom"
require "socket"
require "jrestart"

channel = java.lang.System.inherited_channel
abort "no inherited channel on fd 0" unless channel.is_a?(java.nio.channels.ServerSocketChannel)
token = SecureRandom.hex(4)
$stdout.sync = true
puts "serving #{Process.pid} #{token} on #{channel.local_address}"

def bad_channels
  closed = TCPServer.new("127.0.0.1", 0).tap(&:close)
  file = File.open(__FILE__)
  peer = TCPServer.new("127.0.0.1", 0)
  connected = TCPSocket.new("127.0.0.1", peer.addr[1])
  udp = UDPSocket.new.tap { |s| s.bind("127.0.0.1", 0) }
  [closed, file, connected, udp, "0"].map do |value|
    JRestart.reexec!(inherited_channel: value)
    "exec returned"
  rescue StandardError => e
    "#{e.class}: #{e.message}"
  end
ensure
  [file, peer, connected, udp].each { |io| io&.close }
end

loop do
  client = channel.accept.socket
  out = client.output_stream.to_io
  out.sync = true
  out.puts "#{Process.pid} #{token}"
  input = client.input_stream.to_io
  command = input.gets.to_s.strip
  case command
  when "reexec"
    out.puts "reexecing"
    client.close
    JRestart.on_restart do
      puts "closing the inherited channel"
      channel.close
    end
    JRestart.reexec!(inherited_channel: 0)
  when "bad"
    out.puts JSON.generate(bad_channels)
    client.close
  else
    client.close
  end
end
