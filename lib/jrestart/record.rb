# frozen_string_literal: true

module JRestart
  # What JRestart.last_restart returns in a JVM that a restart started: the
  # pid that asked for it, restart!'s reason:, when (a Time), how (:spawn,
  # :fork, :systemd_run, :in_place or :overlap), the command (for :in_place, the
  # service's own command line), the command's exit status (nil while
  # unknown: each call of last_restart reads it again), the seconds from
  # the request until this JVM loaded jrestart, and what was still running
  # when the orderly stop's timeout passed and the exec went ahead anyway
  # (shutdown hooks by thread name, a runtime's at_exit handlers; at most 32
  # names of 200 characters; empty when everything finished in time).
  # For :overlap (restart!(overlap: true)), overlap is the seconds both JVMs
  # ran, from the new JVM's start until the old one had stopped and exited
  # (nil while it still stops; each call of last_restart reads it again);
  # nil for the other mechanisms.
  Record = Struct.new(:previous_pid, :reason, :requested_at, :mechanism, :command, :command_status, :elapsed,
                      :still_running, :overlap)
end
