# frozen_string_literal: true

require "shellwords"
require "jrestart/detect"

module JRestart
  # The command restart! runs when it is given none, and where it came from:
  # :setting (JRestart.command=), :environment (JRESTART_COMMAND) or
  # :detected (then +manager+ is the JRestart::Manager).
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

    # What restart! with no command would run, as a JRestart::Choice, or nil.
    # JRESTART_COMMAND is split as a shell would split it; no shell runs.
    def restart_command
      return Choice.new(@command, :setting, nil) if @command

      text = ENV["JRESTART_COMMAND"]
      if text && !text.strip.empty?
        begin
          return Choice.new(Shellwords.split(text), :environment, nil)
        rescue ArgumentError => e
          raise ArgumentError, "JRESTART_COMMAND=#{text.inspect} cannot be split: #{e.message}"
        end
      end
      manager = Detect.call
      manager && Choice.new(manager.command, :detected, manager)
    end

    # The JRestart::Manager running this process, or nil; see JRestart::Detect.
    def detect
      Detect.call
    end
  end
end
