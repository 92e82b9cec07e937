# frozen_string_literal: true

module JRestart
  # launch's options and their defaults.
  LAUNCH_OPTIONS = { close: :all, keep: [].freeze, chdir: "/", log: nil, env: nil, delay: 0, strategy: :spawn,
                     unsetenv_others: false }.freeze

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
    # unsetenv_others: true  the child gets env: alone, nothing of ENV
    # delay:          seconds before the command starts; launch returns at once
    # strategy: :fork fork() + execve() as the original plugin did, instead of
    #                 posix_spawn (see the README for why :spawn is the default)
    #
    # Returns a JRestart::Launch. Raises before starting anything when the
    # command, a path or an option is wrong.
    def launch(command, *args, **options)
      o = launch_options(options)
      __launch(command, args, o[:close], o[:keep], o[:chdir], o[:log], o[:env], o[:delay], o[:strategy],
               o[:unsetenv_others])
    end

    # launch, at most once per process: later and concurrent calls return the
    # first JRestart::Launch. A call that raises starts nothing and does not
    # count. Without a command it runs JRestart.command, else JRESTART_COMMAND,
    # else the detected service manager's restart command. It carries out
    # exactly what JRestart.plan shows for the same arguments.
    def restart!(*argv, **options)
      @restart_lock.synchronize { @restart ||= plan(*argv, **options).execute }
    end

    private

    # The options with defaults filled in; unknown keywords raise as Ruby's own would.
    def launch_options(options)
      unknown = options.keys - LAUNCH_OPTIONS.keys
      unless unknown.empty?
        raise ArgumentError, "unknown keyword#{"s" if unknown.size > 1}: #{unknown.map(&:inspect).join(", ")}"
      end

      LAUNCH_OPTIONS.merge(options)
    end
  end
end
