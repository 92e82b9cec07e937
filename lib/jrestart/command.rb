# frozen_string_literal: true

module JRestart
  # The command restart! runs when it is given none, and where it came from:
  # :setting (JRestart.command=), :environment (JRESTART_COMMAND) or
  # :detected (then +manager+ is the JRestart::Manager). JRestart.restart_command
  # returns one, or nil.
  Choice = Struct.new(:command, :source, :manager)

  @command = nil

  class << self
    # The restart command as an argv, for restart! without arguments. It wins
    # over JRESTART_COMMAND and over detection; nil unsets it.
    attr_reader :command

    def command=(argv)
      unless argv.nil? || argv.is_a?(Array)
        raise TypeError, "JRestart.command must be an Array of Strings (an argv) or nil, got #{argv.class}"
      end
      raise ArgumentError, "JRestart.command must not be empty" if argv&.empty?

      argv&.each_with_index do |arg, i|
        raise TypeError, "JRestart.command[#{i}] must be a String, got #{arg.class}" unless arg.is_a?(String)
      end
      @command = argv&.map { |arg| arg.dup.freeze }&.freeze
    end
  end
end
