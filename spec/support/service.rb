# frozen_string_literal: true

# A JRuby "service" for the integration specs. It holds what a real service
# holds (a TCP listener answering its pid, a UNIX socket pair, a file, a pipe),
# reports {"port": N} on stdout, then runs one JSON command per stdin line and
# answers with one JSON line.
require "json"
require "socket"
require "tmpdir"
require "jrestart"
require_relative "hostile"
require_relative "load"

$stdout.sync = true
server = TCPServer.new("127.0.0.1", 0)
unix_a, unix_b = UNIXSocket.pair
file = File.open(__FILE__)
pipe_r, pipe_w = IO.pipe
resources = { "@tcp" => server, "@unix" => unix_a, "@unix_peer" => unix_b, "@file" => file,
              "@pipe" => pipe_r, "@pipe_w" => pipe_w }
launches = {}

Thread.new do
  loop do
    client = server.accept
    client.puts(Process.pid)
    client.close
  end
end

# "@tcp" and friends in options stand for the service's own IOs.
resolve = lambda do |value|
  case value
  when Array then value.map(&resolve)
  when Hash then value.to_h { |k, v| [k, resolve.(v)] }
  when String then resources.fetch(value) { value.start_with?(":") ? value[1..].to_sym : value }
  else value
  end
end

reply = ->(data) { $stdout.puts(JSON.generate(data)) }
# launch with the limit on resource lowered to soft (filled by the block, if
# given) and put back after: {"pid"} or {"error", "message"}.
launch_limited = lambda do |argv, options, resource, soft, &fill|
  saved = Process.getrlimit(resource)
  Process.setrlimit(resource, soft, saved[1])
  begin
    fill&.call
    launch = JRestart.launch(*argv, **options)
    launches[launch.pid] = launch
    { "pid" => launch.pid }
  rescue StandardError, NotImplementedError => e
    { "error" => e.class.name, "message" => e.message }
  ensure
    Process.setrlimit(resource, *saved)
  end
end
# From the kernel, not from JRuby: fd, link target, and O_CLOEXEC from fdinfo.
describe = lambda do |fd|
  { "fd" => fd, "target" => File.readlink("/proc/self/fd/#{fd}"),
    "cloexec" => File.read("/proc/self/fdinfo/#{fd}")[/^flags:\s*(\d+)/, 1].to_i(8) & 0o2000000 != 0 }
rescue Errno::ENOENT
  nil
end
held = ->(io) { describe.(io.fileno) }
reply.({ "port" => server.addr[1], "pid" => Process.pid,
         "held" => resources.transform_values(&held), "sigign" => File.read("/proc/self/status")[/^SigIgn:\s*(\S+)/, 1] })

$stdin.each_line do |line|
  request = JSON.parse(line)
  options = resolve.(request.fetch("options", {})).transform_keys(&:to_sym)
  argv = request.fetch("argv", [])
  begin
    case request["op"]
    when "launch", "restart!"
      launch = JRestart.public_send(request["op"], *argv, **options)
      launches[launch.pid] = launch
      reply.({ "pid" => launch.pid, "path" => launch.path })
    when "plan_and_execute"
      plan = JRestart.plan(*argv, **options)
      launch = plan.execute
      launches[launch.pid] = launch
      reply.({ "pid" => launch.pid, "inherited" => plan.inherited.map { |d| [d.fd, d.target] } })
    when "restart_from_threads"
      results = Array.new(request["threads"]) { Thread.new { JRestart.restart!(*argv, **options) } }.map(&:value)
      results.each { |l| launches[l.pid] = l }
      reply.({ "pids" => results.map(&:pid), "same_object" => results.uniq(&:object_id).size == 1 })
    when "wait"
      status = launches.fetch(request["pid"]).wait(request["timeout"])
      reply.(status ? { "exitstatus" => status.exitstatus, "termsig" => status.termsig } : { "timeout" => true })
    when "features"
      reply.(JRestart.features)
    when "fstat"
      stat = JRestart.fstat(resources.fetch(request["name"]))
      reply.({ "type" => stat.type, "ino" => stat.ino, "socket" => JRestart.socket?(resources.fetch(request["name"])) })
    when "fds"
      fds = Dir.children("/proc/self/fd").map(&:to_i).select { |fd| fd > 2 }.sort
      reply.({ "fds" => fds.filter_map(&describe) })
    when "exhaust_fds"
      # A full descriptor table: the soft RLIMIT_NOFILE lowered and the table filled up to it,
      # then "free" descriptors closed again. A "soft" limit of 3 leaves no descriptor to open at all.
      # "inheritable" fills with files open across exec, as a library's own files may be.
      filler = []
      limit = request["soft"] || Dir.children("/proc/self/fd").size + request.fetch("headroom", 32)
      outcome = launch_limited.(argv, options, :NOFILE, limit) do
        loop do
          filler << File.open(File::NULL)
          filler.last.close_on_exec = false if request["inheritable"]
        end
      rescue Errno::EMFILE
        filler.pop(request.fetch("free", 0)).each(&:close)
      end
      filler.each(&:close)
      reply.(outcome.merge("filled" => filler.size))
    when "exhaust_processes"
      # RLIMIT_NPROC counts this user's threads too: at 1, no thread or process can start.
      reply.(launch_limited.(argv, options, :NPROC, 1))
    when "load"
      reply.(JRestartSpec::Load.new(**request["load"].transform_keys(&:to_sym)).run)
    when "hostile"
      Dir.mktmpdir do |scratch|
        run = JRestartSpec::Hostile.new(request["seed"], scratch).run(request["calls"])
        JRestart.command = nil
        reply.({ "calls" => run.calls, "outcomes" => run.outcomes, "unexpected" => run.unexpected.first(10) })
      end
    when "census"
      threads = java.lang.Thread.getAllStackTraces.keySet.to_a
      reply.({ "fds" => Dir.children("/proc/self/fd").map(&:to_i).filter_map(&describe).map { |d| d["target"] },
               "reapers" => threads.count { |t| t.getName.start_with?("jrestart-reaper") },
               "threads" => threads.size })
    when "exit"
      reply.({ "bye" => true })
      break
    else
      reply.({ "error" => "ArgumentError", "message" => "unknown op #{request["op"]}" })
    end
  rescue StandardError, NotImplementedError => e
    reply.({ "error" => e.class.name, "message" => e.message, "at" => e.backtrace.first(6) })
  end
end
