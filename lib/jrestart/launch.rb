# frozen_string_literal: true

module JRestart
  @restart_lock = Mutex.new
  @restart = nil
  @restarted = false
  # Test mode (JRestart::Testing): one ivar check is all it costs a service.
  @testing = false

  class << self
    # Starts +command+ with +args+ detached from this JVM: new session, cwd
    # +chdir+, default signal dispositions and an empty signal mask, stdin from
    # /dev/null, stdout and stderr appended to +log+ (or /dev/null).
    #
    # close: :all     the child inherits no descriptor above 2 but those in +keep+
    # close: :sockets only sockets are withheld (the original plugin's behaviour)
    # env:            merged over ENV for the child; a nil value removes a name
    # unsetenv_others: true  the child gets env: alone, nothing of ENV
    # delay:          seconds before the command starts; launch returns at once
    # strategy: :fork fork() + execve() as the original plugin did, instead of
    #                 posix_spawn (see the README for why :spawn is the default)
    #
    # LAUNCH_OPTIONS lists the options with their defaults. Returns a
    # JRestart::Launch. Raises before starting anything when the command, a
    # path or an option is wrong. In test mode (JRestart::Testing) it starts
    # nothing and returns the recorded JRestart::Testing::Request; so do
    # restart! and reexec!.
    def launch(command, *args, **options)
      return Testing.record(:launch, [command, *args], options) if @testing

      __launch([command, *args], options).execute
    end

    # launch, at most once per process: later and concurrent calls return the
    # first JRestart::Launch. Once per process, not per runtime: where another
    # JRuby runtime of this JVM, or the Java facade, has a restart under way
    # or started, it raises JRestart::Error naming who. A call that raises
    # starts nothing and does not count. Without a command it runs JRestart.command, else JRESTART_COMMAND,
    # else the detected service manager's restart command. It executes the
    # very plan that JRestart.plan shows for the same arguments. Where the
    # service restarts in place (a container's PID 1, a system unit without
    # root: see the README), it returns only by raising, or nil at once with
    # delay:, and the exec happens after the delay. reason: (a String) is kept
    # in the record the new JVM reads (JRestart.last_restart). One restart
    # more than JRestart.restart_limit allows raises JRestart::RestartLoop.
    def restart!(*argv, **options)
      # Test mode leaves the once-per-process flag alone, so that every example can restart.
      return Testing.record(:restart, argv, options) if @testing

      @restart_lock.synchronize do
        # An exec in place after its delay that failed or was vetoed gave the process's turn back: it may run again.
        if !@restarted || (@restart.nil? && !__restart_claimed)
          # The process's one restart: another runtime or the Java facade may have had it (JRestart::Error).
          @restart = __plan(argv, options).__send__(:__execute_once)
          @restarted = true
        end
        @restart
      end
    end
  end
end
