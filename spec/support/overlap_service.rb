# frozen_string_literal: true

# A JRuby HTTP service for the overlap specs: JRestart.listen on 127.0.0.1
# port $DEMO_PORT. It boots (every JVM, the first and each new one), then
# says JRestart.ready!. Requests, one per connection, as HTTP (GET /PATH) or
# as one line (PATH without the slash, answered with one line, the protocol
# of spec/support/supervised.rb):
#   /                -> "PID TOKEN" (TOKEN is new at every start); "pid" -> PID
#   /slow            -> "PID TOKEN" after $OVERLAP_SLOW seconds (2): a request in flight
#   /restart?ARGS    -> restart!(overlap: true, **ARGS) on a thread of its own; the answer comes at once:
#                       "restarting"; what restart! raised goes to $OVERLAP_LOG as "raised CLASS: MESSAGE"
#   /restart-now?ARGS -> restart!(overlap: true, **ARGS) on this request's thread: "raised CLASS: MESSAGE"
#                       when it raises (a refusal), nothing when it hands over
#   /plan?ARGS       -> JRestart.plan(overlap: true, **ARGS).to_h as JSON, or "raised CLASS: MESSAGE"
#   /record          -> JRestart.last_restart.to_h as JSON (null when none)
# ARGS: ready_timeout=SECONDS, fail=1 (the new JVM gets OVERLAP_FAIL=1 in its environment), hang=1 (the
# new JVM gets OVERLAP_HANG=1), pidfile=PATH.
# With OVERLAP_FAIL=1 the JVM writes a line on stdout and on stderr, then exits 3 before it is ready; with
# OVERLAP_HANG=1 it never says it is ready. The restart hook stops accepting, then waits for the requests in
# flight (the drain the README shows). Every event goes to $OVERLAP_LOG, one line each.
require "json"
require "securerandom"
require "socket"
require "time"
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
# A manager's stop (systemctl stop, the init script's) sends SIGTERM; JRuby runs at_exit handlers only for an exit.
Signal.trap("TERM") do
  say.call("term")
  exit 143
end

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
  # Said before: the old JVM may run its hook before ready! has returned here.
  say.call("calling ready!")
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
    http = line.start_with?("GET ")
    nil while http && (header = c.gets) && header != "\r\n"
    path, query = (http ? line.split(" ")[1].to_s : "/#{line.strip}").split("?", 2)
    body = case path
           when "/slow"
             sleep Float(ENV.fetch("OVERLAP_SLOW", "2"))
             "#{Process.pid} #{token}"
           when "/pid"
             Process.pid.to_s
           when "/restart"
             options = restart_options(query)
             Thread.new do
               say.call("restart #{options.inspect}")
               JRestart.restart!(**options)
             rescue StandardError => e
               say.call("raised #{e.class}: #{e.message.gsub("\n", "\\n")}")
             end
             "restarting"
           when "/restart-now"
             begin
               JRestart.restart!(**restart_options(query))
               "handed over"
             rescue StandardError => e
               "raised #{e.class}: #{e.message.gsub("\n", "\\n")}"
             end
           when "/plan"
             begin
               JSON.generate(JRestart.plan(**restart_options(query)).to_h.reject { |k, _| k == :descriptors })
             rescue StandardError => e
               "raised #{e.class}: #{e.message}"
             end
           when "/record"
             record = JRestart.last_restart
             JSON.generate(record && record.to_h.merge(requested_at: record.requested_at.iso8601(3)))
           else
             "#{Process.pid} #{token}"
           end
    http ? answer(c, body) : c.puts(body)
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
