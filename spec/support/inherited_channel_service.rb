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
require_relative "bad_descriptors"

channel = java.lang.System.inherited_channel
abort "no inherited channel on fd 0" unless channel.is_a?(java.nio.channels.ServerSocketChannel)
token = SecureRandom.hex(4)
$stdout.sync = true
puts "serving #{Process.pid} #{token} on #{channel.local_address}"

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
    out.puts JSON.generate(JRestartSpec::BadDescriptors.refusals("127.0.0.1", :inherited_channel, ["0"]) { |v| v })
    client.close
  else
    client.close
  end
end
