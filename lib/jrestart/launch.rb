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
    # first JRestart::Launch. A call that raises starts nothing and does not count.
    def restart!(command = nil, *args, **options)
      if command.nil?
        raise ArgumentError, "JRestart.restart! needs the command that restarts this service, " \
                             "e.g. JRestart.restart!(\"/etc/init.d/myservice\", \"restart\")"
      end
      @restart_lock.synchronize { @restart ||= launch(command, *args, **options) }
    end
  end
end
