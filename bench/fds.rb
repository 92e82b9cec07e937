# frozen_string_literal: true

# Part 3 of `bin/rake bench`, in a JVM of its own that bench/bench.rb starts:
#
#   java -Xms512m -Xmx512m -jar jruby-complete.jar -X+C -I lib bench/fds.rb COUNTS WARMUP_S RUNS OUT
#
# With each of COUNTS (e.g. 10,1000,10000) descriptors open in the JVM, half
# /dev/null files and half UNIX socket pairs: JRestart.socket? per call next
# to JRuby's own ways of asking, the descriptor table next to a walk of
# /proc/self/fd, and the start latency of the methods whose work depends on
# the table. The raw numbers go to OUT as JSON.
require "json"
require "socket"
require_relative "starters"

module JRestartBench
  module Descriptors
    CALLS_PER_BATCH = 1_000
    BATCHES = 30
    TABLE_RUNS = 20
    # Room for what the JVM itself opens while it runs.
    SPARE_FDS = 64

    # Each answers whether io, whose descriptor is fd, is a socket.
    SOCKET_CHECKS = {
      "(empty block: the loop's own cost)" => ->(_io, _fd) { true },
      "JRestart.socket?(fd)" => ->(_io, fd) { JRestart.socket?(fd) },
      "JRestart.socket?(io)" => ->(io, _fd) { JRestart.socket?(io) },
      "io.stat.socket?" => ->(io, _fd) { io.stat.socket? },
      "IO.for_fd(fd, autoclose: false).stat.socket?" => ->(_io, fd) { IO.for_fd(fd, autoclose: false).stat.socket? },
      "File.stat(\"/proc/self/fd/N\").socket?" => ->(_io, fd) { File.stat("/proc/self/fd/#{fd}").socket? },
    }.freeze

    # Each lists every open descriptor with what it points to and its type.
    TABLES = {
      "JRestart.open_fds" => -> { JRestart.open_fds },
      "Dir.children(\"/proc/self/fd\") + readlink + stat" => -> { proc_fd_walk },
    }.freeze

    LAUNCH_METHODS = %i[launch launch_sockets spawn process_builder].freeze

    module_function

    def measure(counts, warmup_s, runs)
      held = []
      limit = raise_fd_limit(counts.max + SPARE_FDS)
      results = counts.map do |count|
        next { target: count, skipped: "RLIMIT_NOFILE is #{limit}" } if count + SPARE_FDS > limit

        hold_open(held, count)
        open = open_count
        $stderr.puts "  #{open} descriptors open"
        socket, = held.grep(UNIXSocket)
        file = held.grep(File).first
        { target: count, open: open, socket_check: socket_checks(socket, file, warmup_s), tables: tables(open),
          launch: Starters.compare(LAUNCH_METHODS, warmup_s, runs) }
      end
      { limit: limit, counts: results }
    end

    # The soft limit raised towards what is needed, as far as the hard limit allows.
    def raise_fd_limit(needed)
      soft, hard = Process.getrlimit(:NOFILE)
      return soft if soft >= needed

      Process.setrlimit(:NOFILE, [needed, hard].min, hard)
      Process.getrlimit(:NOFILE).first
    end

    # Opens /dev/null twice and a socket pair, again until count descriptors
    # are open: at least one of each for the socket checks.
    def hold_open(held, count)
      open = open_count
      loop do
        held.push(File.open("/dev/null"), File.open("/dev/null"), *UNIXSocket.pair)
        open += 4
        break if open >= count
      end
    end

    def open_count
      # Less the descriptor that lists the directory.
      Dir.children("/proc/self/fd").size - 1
    end

    def proc_fd_walk
      Dir.children("/proc/self/fd").filter_map do |name|
        path = "/proc/self/fd/#{name}"
        [Integer(name), File.readlink(path), File.stat(path).ftype]
      rescue SystemCallError
        nil # the directory's own descriptor, closed by now
      end
    end

    # Nanoseconds per call, one number per batch of calls, once warm; every
    # check must tell the socket from the file first. Checks take turns, batch
    # by batch, as the start methods do.
    def socket_checks(socket, file, warmup_s)
      SOCKET_CHECKS.each do |name, check|
        next if name.start_with?("(")

        answers = [check.call(socket, socket.fileno), check.call(file, file.fileno)]
        raise "#{name} answered #{answers.inspect} for a socket and a file" unless answers == [true, false]
      end
      batches = -> { SOCKET_CHECKS.transform_values { |check| batch { check.call(socket, socket.fileno) } } }
      Starters.repeat_for(warmup_s) { batches.call }
      rounds = Array.new(BATCHES) { batches.call }
      SOCKET_CHECKS.keys.to_h { |name| [name, rounds.map { |round| round.fetch(name) }] }
    end

    def batch
      start = Starters.now
      i = 0
      while i < CALLS_PER_BATCH
        yield
        i += 1
      end
      (Starters.now - start).fdiv(CALLS_PER_BATCH)
    end

    # Nanoseconds per listing, taking turns; each must list about as many
    # descriptors as are open.
    def tables(open)
      TABLES.each do |name, list|
        listed = list.call.size
        raise "#{name} listed #{listed} descriptors, #{open} are open" unless (listed - open).abs <= SPARE_FDS
      end
      listings = -> { TABLES.transform_values { |list| timed { list.call } } }
      3.times { listings.call } # warm-up
      rounds = Array.new(TABLE_RUNS) { listings.call }
      TABLES.keys.to_h { |name| [name, rounds.map { |round| round.fetch(name) }] }
    end

    def timed
      start = Starters.now
      yield
      Starters.now - start
    end
  end
end

if $PROGRAM_NAME == __FILE__
  counts = ARGV.fetch(0).split(",").map { |count| Integer(count) }
  result = JRestartBench::Descriptors.measure(counts, Float(ARGV.fetch(1)), Integer(ARGV.fetch(2)))
  File.write(ARGV.fetch(3), JSON.generate(result))
end
