# frozen_string_literal: true

# A JRuby service for the listener specs: JRestart.listen on
# $LISTEN_HOST (127.0.0.1) port $DEMO_PORT, backlog $DEMO_BACKLOG (1024).
# Each connection first gets "PID TOKEN" (TOKEN is new at every start), then
# may send one command line, answered on the same connection:
#   reexec          -> "reexecing", then JRestart.reexec!
#   reexec-extra    -> "reexecing", then reexec!(listeners: [the TCPServer on $EXTRA_PORT])
#   restart         -> "restarting" and JRestart.restart!(delay: 1) (in place in a container),
#                      the error it raised otherwise
#   restart-close   -> as restart, then the service closes its listener itself: the exec must still hand it on
#   listeners       -> JRestart.listeners as JSON
#   bad-listeners   -> what reexec!(listeners: [...]) raises for a closed, a non-socket, a connected
#                      and a UDP descriptor, as JSON, each "Class: message"
#   backlog         -> the listener's fd
# $EXTRA_PORT: a second listener, a plain TCPServer in the first JVM, JRestart.listen in the next ones.
require "json"
require "securerandom"
require "socket"
require "jrestart"
require_relative "bad_descriptors"

host = ENV.fetch("LISTEN_HOST", "127.0.0.1")
token = SecureRandom.hex(4)
server = JRestart.listen(host, Integer(ENV.fetch("DEMO_PORT")), backlog: Integer(ENV.fetch("DEMO_BACKLOG", "1024")))
extra = nil
if ENV["EXTRA_PORT"]
  inherited = JRestart.listeners.any? { |l| l.port == Integer(ENV["EXTRA_PORT"]) }
  extra = inherited ? JRestart.listen(host, Integer(ENV["EXTRA_PORT"])) : TCPServer.new(host, Integer(ENV["EXTRA_PORT"]))
end
$stdout.sync = true
puts "listening #{Process.pid} #{token} fd=#{server.fileno} #{server.local_address.inspect_sockaddr}"
puts "inherited #{JRestart.listeners.map(&:to_h)} JRESTART_LISTENERS=#{ENV["JRESTART_LISTENERS"].inspect}"

def serve(client, server, extra, host, token)
  client.puts "#{Process.pid} #{token}"
  return unless client.wait_readable(2)

  command = client.gets.to_s.strip
  case command
  when "reexec"
    client.puts "reexecing"
    client.close
    JRestart.reexec!
  when "reexec-extra"
    client.puts "reexecing"
    client.close
    JRestart.reexec!(listeners: [extra])
  when "restart", "restart-close"
    begin
      JRestart.restart!(delay: 1)
      client.puts "restarting"
      # The service stops listening on its own before the exec: the exec must hand the listener on all the same.
      server.close if command == "restart-close"
    rescue StandardError => e
      client.puts "#{e.class}: #{e.message}"
    end
  when "listeners"
    client.puts JSON.generate(JRestart.listeners.map(&:to_h))
  when "bad-listeners"
    client.puts JSON.generate(JRestartSpec::BadDescriptors.refusals(host, :listeners) { |io| [io] })
  when "backlog"
    client.puts server.fileno
  end
end

threads = []
threads << Thread.new(extra) { |x| loop { x.accept.tap { |c| c.puts "#{Process.pid} #{token} extra" }.close } } if extra
begin
  loop do
    client = server.accept
    Thread.new(client) do |c|
      serve(c, server, extra, host, token)
    rescue StandardError => e
      c.puts("error #{e.class}: #{e.message}") unless c.closed?
    ensure
      c.close unless c.closed?
    end
  end
rescue IOError
  sleep # closed by restart-close: the exec in place comes
end
