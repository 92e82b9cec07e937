# frozen_string_literal: true

# The demo's service: a JRuby TCP server on 127.0.0.1:$DEMO_PORT, run by
# examples/init.d/demo-service or another service manager (spec/support/supervised.rb).
# Send it a line:
#   pid      -> its pid
#   restart [REASON] -> it calls JRestart.restart! with no command (and
#               REASON as reason:), so that the command comes from
#               JRESTART_COMMAND or from the detected manager, and answers
#               "restarting PID via=HOW inherited=none": PID is the restart
#               command, HOW where it came from, and "inherited" what it got
#               from the service besides stdio; or "error CLASS: MESSAGE"
#   record   -> JRestart.last_restart as JSON (null when this JVM was not
#               started by a restart), requested_at in ISO 8601
require "json"
require "socket"
require "time"
require "jrestart"

port = Integer(ENV.fetch("DEMO_PORT"))
restart_log = File.join(ENV.fetch("DEMO_RUN_DIR"), "restart.log")

# Descriptors above 2 of pid that are also open here: the same socket, pipe or file.
def inherited_from_me(pid)
  mine = Dir.children("/proc/self/fd").filter_map do |fd|
    File.readlink("/proc/self/fd/#{fd}") if fd.to_i > 2
  rescue Errno::ENOENT
    nil
  end
  Dir.children("/proc/#{pid}/fd").select { |fd| fd.to_i > 2 }.filter_map do |fd|
    target = File.readlink("/proc/#{pid}/fd/#{fd}")
    "#{fd}:#{target}" if mine.include?(target)
  rescue Errno::ENOENT
    nil
  end
end

server = TCPServer.new("127.0.0.1", port)
$stdout.sync = true
puts "demo-service #{Process.pid} listening on 127.0.0.1:#{port}"

loop do
  Thread.new(server.accept) do |client|
    case client.gets.to_s.strip
    when /\Arestart(?: (.+))?\z/
      # The delay lets this request be answered before the manager stops us.
      launch = JRestart.restart!(log: restart_log, delay: 1, reason: Regexp.last_match(1))
      inherited = inherited_from_me(launch.pid)
      choice = JRestart.restart_command
      via = [choice.source, choice.manager&.name].compact.join(":")
      client.puts "restarting #{launch.pid} via=#{via} inherited=#{inherited.empty? ? "none" : inherited.join(",")}"
    when "record"
      record = JRestart.last_restart&.to_h
      client.puts JSON.generate(record&.merge(requested_at: record[:requested_at].utc.iso8601(3)))
    else
      client.puts Process.pid
    end
  rescue StandardError => e
    client.puts "error #{e.class}: #{e.message}"
  ensure
    client.close
  end
end
