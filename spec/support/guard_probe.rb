# frozen_string_literal: true

# A JRuby process for the guard specs: one "service" JVM with no manager
# (JRESTART_COMMAND names its restart command), driven by one line per request
# on stdin, each answered with one JSON line on stdout. Warnings go to stderr,
# which the spec reads. It says {"ready": PID} once jrestart is loaded.
#   restart          -> JRestart.plan.execute: a restart that really runs, as
#                       often as asked (restart! would run once per process)
#   restart!         -> JRestart.restart!, once
#   barrier PATH     -> waits until PATH exists, then restart!: for many JVMs at once
#   limit off|default|COUNT/SECONDS -> JRestart.restart_limit = nil, :default or [COUNT, SECONDS]
#   info             -> restart_limit and state_directory
#   record           -> JRestart.last_restart as a Hash, or null
# A restart answers {"pid"} or {"error", "message"}.
require "json"
require "jrestart"

$stdout.sync = true
reply = ->(data) { $stdout.puts(JSON.generate(data)) }
def outcome
  launch = yield
  { "pid" => launch.pid, "status" => launch.wait(10)&.exitstatus }
rescue StandardError, NotImplementedError => e
  { "error" => e.class.name, "message" => e.message }
end

reply.({ "ready" => Process.pid })

$stdin.each_line do |line|
  case line.strip
  when "restart"
    reply.(outcome { JRestart.plan(reason: "guard spec").execute })
  when "restart!"
    reply.(outcome { JRestart.restart!(reason: "guard spec") })
  when /\Abarrier (\S+)\z/
    path = Regexp.last_match(1)
    sleep 0.001 until File.exist?(path)
    reply.(outcome { JRestart.restart!(reason: "guard spec, concurrent") })
  when /\Alimit (\S+)\z/
    value = Regexp.last_match(1)
    JRestart.restart_limit = case value
                             when "off" then nil
                             when "default" then :default
                             else value.split("/").map { |n| Integer(n) }
                             end
    reply.({ "restart_limit" => JRestart.restart_limit })
  when "record"
    reply.({ "record" => JRestart.last_restart&.to_h&.transform_values { |v| v.is_a?(Time) ? v.to_f : v } })
  when "info"
    reply.({ "restart_limit" => JRestart.restart_limit, "state_directory" => JRestart.state_directory })
  else
    reply.({ "error" => "ArgumentError", "message" => "unknown request #{line.strip}" })
  end
rescue StandardError => e
  reply.({ "error" => e.class.name, "message" => e.message })
end
