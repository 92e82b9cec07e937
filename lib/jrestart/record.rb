# frozen_string_literal: true

module JRestart
  # What JRestart.last_restart returns in a JVM that a restart started: the
  # pid that asked for it, restart!'s reason:, when (a Time), how (:spawn,
  # :fork, :systemd_run or :in_place), the command (for :in_place, the
  # service's own command line), the command's exit status (nil while
  # unknown: each call of last_restart reads it again) and the seconds from
  # the request until this JVM loaded jrestart.
  Record = Struct.new(:previous_pid, :reason, :requested_at, :mechanism, :command, :command_status, :elapsed)
end
