# frozen_string_literal: true

module JRestart
  class << self
    # Replaces this process with a fresh run of the same program and command
    # line (/proc/self/exe and /proc/self/cmdline), same pid, or of +argv+.
    # The environment is ENV with +env+ merged over it (nil removes a name), or
    # +env+ alone with unsetenv_others: true.
    # First the restart hooks (JRestart.on_restart) run, then the JVM stops in
    # order, as a manager's stop would stop it: the at_exit handlers and IO
    # flush of every JRuby runtime in the process, then the JVM's shutdown
    # hooks, all within stop_timeout: seconds (by default the unit's
    # TimeoutStopUSec under systemd, else 90; at the deadline the exec goes
    # ahead anyway, and JRestart.last_restart's still_running names what still
    # ran). Then every descriptor above 2 but those in +keep+ and the listeners
    # handed on (JRestart.listen's, and +listeners+) is marked close-on-exec,
    # ignored signals go back to their default, the signal mask is emptied,
    # and the exec replaces the process. Options: env:, keep:,
    # unsetenv_others:, listeners:, stop_timeout:. Everything that can be
    # checked (the program, its ELF machine or #! interpreter, every option)
    # is checked before anything stops: bad input raises (Errno::*,
    # ArgumentError, TypeError) with the service untouched. Once the stop has
    # begun there is no way back: an exec that still fails ends the JVM with
    # status 1, for its manager to start again.
    def reexec!(argv = nil, **options)
      return Testing.record(:reexec, argv, options) if @testing

      __reexec(argv, options).execute
    end
  end
end
