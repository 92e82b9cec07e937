# frozen_string_literal: true

module JRestart
  # What a restart hook gets: why (restart!'s reason:, or nil), how
  # (:in_place, :spawn, :fork or :systemd_run), the command (for :in_place,
  # the service's own command line), the deadline (a Time) by which the
  # hooks must be done, the timeout that deadline came from (seconds), and
  # remaining, the seconds left until it.
  class Restart
    attr_reader :reason, :mechanism, :command, :deadline, :timeout

    def initialize(reason, mechanism, command, deadline, timeout, deadline_nanos)
      @reason = reason
      @mechanism = mechanism
      @command = command
      @deadline = deadline
      @timeout = timeout
      @deadline_nanos = deadline_nanos
      freeze
    end

    # Seconds left until the deadline (never negative), on the JVM's monotonic clock.
    def remaining
      [(@deadline_nanos - JRestart.__send__(:__nanos)) / 1e9, 0.0].max
    end

    def inspect
      "#<JRestart::Restart #{mechanism} #{command.inspect} reason: #{reason.inspect} remaining: #{remaining.round(3)}>"
    end
  end

  class << self
    # Registers a block that runs before every restart of this service
    # (restart! by any mechanism, reexec!), in registration order, each on a
    # thread of its own, before anything is started or exec'd: the place to
    # stop accepting and finish in-flight work. The block gets a
    # JRestart::Restart. It has until restart.deadline (the stop timeout:
    # stop_timeout:, else the unit's TimeoutStopUSec under systemd, else 90 s,
    # shared with the orderly stop after the hooks): a block still running
    # then is left behind and the restart goes on. A block that raises vetoes the restart: nothing is started, the
    # restart-loop guard does not count it, and restart! raises
    # JRestart::Vetoed naming the block and its error (exit, throw and
    # Thread#kill in a block veto it too, and do not end the JVM). The list
    # is one per process: blocks of other JRuby runtimes and hooks of the
    # Java facade run as well. Returns the JRestart::RestartHook.
    def on_restart(&block)
      raise ArgumentError, "on_restart needs a block: JRestart.on_restart { |restart| ... }" unless block

      __on_restart(block, block.source_location&.join(":") || block.inspect)
    end
  end
end
