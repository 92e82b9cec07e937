# frozen_string_literal: true

# A JRuby HTTP service for the overlap specs: JRestart.listen on 127.0.0.1
# port $DEMO_PORT. It boots (every JVM, the first and each new one), then
# says JRestart.ready!. Requests, one per connection:
#   GET /               -> "PID TOKEN" (TOKEN is new at every start)
#   GET /slow           -> the same after $OVERLAP_SLOW seconds (2): a request in flight
#   GET /restart?ARGS   -> restart!(overlap: true, **ARGS) on a thread of its own; the answer comes at once:
#                          "restarting"; what restart! raised goes to $OVERLAP_LOG as "raised CLASS: MESSAGE"
#   GET /plan?ARGS      -> JRestart.plan(overlap: true, **ARGS).to_h as JSON, or "raised CLASS: MESSAGE"
#   GET /record         -> JRestart.last_restart.to_h as JSON (null when none)
# ARGS: ready_timeout=SECONDS, fail=1 (the new JVM gets OVERLAP_FAIL=1 in its environment), pidfile=PATH.
# With OVERLAP_FAIL=1 the JVM writes a line on stdout and on stderr, then exits 3 before it is ready; with
# OVERLAP_HANG=1 it never says it is ready. The restart hook stops accepting, then waits for the requests in
# flight (the drain the README shows). Every event goes to $OVERLAP_LOG, one line each.
require "json"
require "securerandom"
require "socket"
require "uri"
require "jrestart"

log = File.open(ENV.fetch("OVERLAP_LOG"), "a")
log.sync = true
say = ->(line) { log.puts("#{Process.pid} #{line}") }
token = SecureRandom.hex(4)
$stdout.sync = true
$stderr.sync = true

if ENV["OVERLAP_FAIL"] == "1"
  puts "overlap service #{Process.pid}: stdout before failing"
  warn "overlap service #{Process.pid}: the configuration is broken (OVERLAP_FAIL=1)"
  say.call("failing")
  exit 3
end

server = JRestart.listen("127.0.0.1", Integer(ENV.fetch("DEMO_PORT")))
say.call("listening #{token} inherited=#{JRestart.listeners.size} parent=#{Process.ppid}")
in_flight = Queue.new
in_flight_count = 0
lock = Mutex.new
drained = ConditionVariable.new

JRestart.on_restart do |restart|
  say.call("hook #{restart.mechanism}")
  server.close
  lock.synchronize { drained.wait(lock, 30) while in_flight_count.positive? }
  say.call("drained")
end
at_exit { say.call("at_exit") }

def answer(client, body)
  client.write("HTTP/1.0 200 OK\r\nContent-Length: #{body.bytesize}\r\nConnection: close\r\n\r\n#{body}")
end

def restart_options(query)
  params = URI.decode_www_form(query.to_s).to_h
  options = {overlap: true}
  options[:ready_timeout] = Float(params["ready_timeout"]) if params["ready_timeout"]
  options[:env] = {"OVERLAP_FAIL" => "1"} if params["fail"] == "1"
  options[:env] = {"OVERLAP_HANG" => "1"} if params["hang"] == "1"
  options[:pidfile] = params["pidfile"] if params["pidfile"]
  options
end

unless ENV["OVERLAP_HANG"] == "1"
  told = JRestart.ready!
  say.call("ready told=#{told} again=#{JRestart.ready!}")
end

loop do
  client = begin
    server.accept
  rescue IOError, SystemCallError
    break
  end
  lock.synchronize { in_flight_count += 1 }
  Thread.new(client) do |c|
    line = c.gets.to_s
    nil while (header = c.gets) && header != "\r\n"
    path, query = line.split(" ")[1].to_s.split("?", 2)
    case path
    when "/slow"
      sleep Float(ENV.fetch("OVERLAP_SLOW", "2"))
      answer(c, "#{Process.pid} #{token}")
    when "/restart"
      options = restart_options(query)
      Thread.new do
        say.call("restart #{options.inspect}")
        JRestart.restart!(**options)
      rescue StandardError => e
        say.call("raised #{e.class}: #{e.message.gsub("\n", "\\n")}")
      end
      answer(c, "restarting")
    when "/plan"
      body = begin
        JSON.generate(JRestart.plan(**restart_options(query)).to_h.reject { |k, _| k == :descriptors })
      rescue StandardError => e
        "raised #{e.class}: #{e.message}"
      end
      answer(c, body)
    when "/record"
      record = JRestart.last_restart
      answer(c, JSON.generate(record && record.to_h))
    else
      answer(c, "#{Process.pid} #{token}")
    end
  rescue StandardError => e
    say.call("request failed #{e.class}: #{e.message}")
  ensure
    c.close unless c.closed?
    lock.synchronize do
      in_flight_count -= 1
      drained.broadcast
    end
  end
end
say.call("stopped accepting")
sleep
