# frozen_string_literal: true

module JRestart
  class << self
    # Replaces this process with a fresh run of the same program and command
    # line (/proc/self/exe and /proc/self/cmdline), same pid, or of +argv+.
    # A program replaced on disk since the start (a JDK upgraded in place) runs
    # in its new version; one deleted raises Errno::ENOENT.
    # The environment is ENV with +env+ merged over it (nil removes a name), or
    # +env+ alone with unsetenv_others: true.
    # Before the exec every descriptor above 2 but those in +keep+ is marked
    # close-on-exec, ignored signals go back to their default and the signal
    # mask is emptied. at_exit handlers and JVM shutdown hooks do NOT run: the
    # JVM is gone the moment the exec succeeds. Returns only by raising
    # (Errno::*) when the exec fails, with all of that undone, the process
    # still running and serving.
    def reexec!(argv = nil, env: nil, keep: [], unsetenv_others: false)
      if argv.nil?
        argv = __self_argv
        program = __self_program
      else
        raise TypeError, "argv must be an Array of Strings, got #{argv.class}" unless argv.is_a?(Array)
        raise ArgumentError, "argv must not be empty" if argv.empty?

        program = argv.first
      end
      __reexec(program, argv, env, keep, unsetenv_others)
    end
  end
end
