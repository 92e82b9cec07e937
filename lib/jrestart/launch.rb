# frozen_string_literal: true

module JRestart
  @restart_lock = Mutex.new
  @restart = nil

  class << self
    # Starts +command+ with +args+ detached from this JVM: new session, cwd
    # +chdir+, default signal dispositions and an empty signal mask, stdin from
    # /dev/null, stdout and stderr appended to +log+ (or /dev/null).
    #
    # close: :all     the child inherits no descriptor above 2 but those in +keep+
    # close: :sockets only sockets are withheld (the original plugin's behaviour)
    # env:            merged over ENV for the child; a nil value removes a name
    # delay:          seconds before the command starts; launch returns at once
    #
    # Returns a JRestart::Launch. Raises before starting anything when the
    # command, a path or an option is wrong.
    def launch(command, *args, close: :all, keep: [], chdir: "/", log: nil, env: nil, delay: 0)
      __launch(command, args, close, keep, chdir, log, env, delay)
    end

    # launch, at most once per process: later and concurrent calls return the
    # first JRestart::Launch. A call that raises starts nothing and does not
    # count. Without a command it runs JRestart.command, else JRESTART_COMMAND,
    # else the detected service manager's restart command.
    def restart!(*argv, **options)
      raise ArgumentError, "JRestart.restart!: the command is nil" if argv.first.nil? && !argv.empty?

      @restart_lock.synchronize do
        @restart ||= launch(*(argv.empty? ? chosen_command : argv), **options)
      end
    end
  end
end
