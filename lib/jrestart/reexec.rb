# frozen_string_literal: true

module JRestart
  class << self
    # Replaces this process with a fresh run of the same program and command
    # line (/proc/self/exe and /proc/self/cmdline), same pid, or of +argv+.
    # The environment is ENV with +env+ merged over it (nil removes a name), or
    # +env+ alone with unsetenv_others: true.
    # Before the exec every descriptor above 2 but those in +keep+ and the
    # listeners handed on (JRestart.listen's, and +listeners+) is marked
    # close-on-exec, ignored signals go back to their default and the signal
    # mask is emptied. at_exit handlers and JVM shutdown hooks do NOT run: the
    # JVM is gone the moment the exec succeeds. Options: env:, keep:,
    # unsetenv_others:, listeners:. Returns only by raising (Errno::*) when the exec fails,
    # with all of that undone, the process still running and serving.
    def reexec!(argv = nil, **options)
      return Testing.record(:reexec, argv, options) if @testing

      __reexec(argv, options).execute
    end
  end
end
