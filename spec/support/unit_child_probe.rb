# frozen_string_literal: true

# Run by systemd_spec as a child of a unit's main process (a shell), in the
# unit's cgroup: what JRestart.plan decides there, written as JSON to ARGV[0].
# With ARGV[1] ("named"), also the plans of named commands (issue 17 item 9),
# and one of them executed: the transient unit writes its environment to
# ARGV[0].env.
require "jrestart"
require "json"

def attempt
  value = yield
  value.is_a?(JRestart::Plan) ? { "command" => value.command, "text" => value.to_s } : value
rescue StandardError => e
  { "error" => e.class.name, "message" => e.message }
end

out = ARGV[0]
results = { "pid" => Process.pid, "detected" => attempt { JRestart.plan } }
if ARGV[1] == "named"
  held = File.open("/dev/null")
  results.merge!(
    "nonexistent" => attempt { JRestart.plan("/nonexistent/restart-it") },
    "relative" => attempt { JRestart.plan("bin/restart-it") },
    "chdir" => attempt { JRestart.plan("/bin/true", chdir: "/nonexistent") },
    "keep" => attempt { JRestart.plan("/bin/true", keep: [held.fileno]) },
    "delay" => attempt { JRestart.plan("/bin/true", delay: 10**9) },
    "bare" => attempt { JRestart.plan("true", env: { "FOO" => "1", "LANG" => nil }, delay: 2) },
    "executed" => attempt do
      JRestart.plan("/bin/sh", "-c", "env > #{out}.env", env: { "FOO" => "1", "LANG" => nil }).execute
      "started"
    end
  )
end
File.write("#{out}.tmp", JSON.generate(results))
File.rename("#{out}.tmp", out)
