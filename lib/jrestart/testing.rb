# frozen_string_literal: true

require "jrestart"

module JRestart
  # Test mode, for a plugin's own test suite: restart!, launch and reexec!
  # start nothing and exec nothing. Each checks its arguments as it always does
  # (raising the same errors), builds the plan it would have run, records a
  # Request and returns it. JRestart::Plan#execute raises while it is on.
  # jrestart/rspec turns it on for RSpec; minitest and test-unit call enable!
  # and disable! themselves.
  module Testing
    # One request a plugin made in test mode.
    #
    # kind::      :restart, :launch or :reexec
    # command::   the argv given; for restart! without one the command it
    #             would choose; for reexec! without one this process's own
    #             command line. nil where it cannot be known (unplanned says why).
    # reason::    restart!'s reason:, or nil
    # options::   the options Hash as given
    # plan::      the JRestart::Plan it would have run; nil on a platform
    #             jrestart does not support
    # unplanned:: why plan is nil; nil when there is a plan
    # hooks::     the JRestart::RestartHooks the restart would have run first
    #             (test mode runs none); empty for launch, which runs none
    Request = Struct.new(:kind, :command, :reason, :options, :plan, :unplanned, :hooks) do
      def to_s
        text = "#{kind} #{command ? command.inspect : "(no command)"}"
        text += " reason: #{reason.inspect}" if reason
        text += " #{options.reject { |name, _| name == :reason }.inspect}" unless options.size <= (reason ? 1 : 0)
        text
      end

      def inspect
        "#<JRestart::Testing::Request #{self}>"
      end
    end

    @requests = []
    @lock = Mutex.new
    @locked_by = nil

    class << self
      # Turns test mode on for this whole process: other JRuby runtimes and
      # the Java facade (org.jrestart.JRestart) see it too, and start nothing.
      def enable!
        JRestart.instance_variable_set(:@testing, true)
        JRestart.__send__(:__test_mode, true)
        self
      end

      # Turns test mode off: restart!, launch and reexec! act for real again.
      # Raises JRestart::Error while jrestart/rspec is loaded.
      def disable!
        raise JRestart::Error, @locked_by if @locked_by

        JRestart.instance_variable_set(:@testing, false)
        JRestart.__send__(:__test_mode, false)
        self
      end

      def enabled?
        JRestart.instance_variable_get(:@testing)
      end

      # The requests recorded so far, oldest first (a frozen copy).
      def requests
        @lock.synchronize { @requests.dup.freeze }
      end

      def clear
        @lock.synchronize { @requests.clear }
        nil
      end

      # Called by restart!, launch and reexec! in test mode.
      def record(kind, argv, options)
        command, plan, unplanned = JRestart.__send__(:__request, kind, argv, options)
        hooks = kind == :launch ? [].freeze : JRestart.restart_hooks
        request = Request.new(kind, command, options[:reason], options.dup.freeze, plan, unplanned, hooks).freeze
        @lock.synchronize { @requests << request }
        request
      end

      private

      # Keeps test mode on for good; disable! raises with why.
      def lock(why)
        enable!
        @locked_by = why
      end
    end
  end
end
