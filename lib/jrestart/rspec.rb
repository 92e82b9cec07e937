# frozen_string_literal: true

require "rspec/core"
require "jrestart"
require "jrestart/testing"

# Test mode from the moment this is required, so that nothing escapes a
# plugin's suite: not from before(:all), not from code run while spec files
# load. It stays on; JRestart::Testing.disable! raises.
JRestart::Testing.__send__(:lock, "JRestart::Testing.disable! refused: jrestart/rspec is loaded and keeps test mode" \
                                   " on, so that no real restart escapes the suite")

module JRestart
  module Testing
    # expect { ... }.to request_restart, for RSpec.
    module Matchers
      # Passes when the block calls restart! or reexec! (launch starts a
      # helper, it is not a restart): .with_command(argv) for that exact argv,
      # .with_reason(text_or_regexp) for a reason it matches (===).
      def request_restart
        RequestRestart.new
      end
    end

    # The request_restart matcher.
    class RequestRestart
      def initialize
        @constraints = []
      end

      def with_command(argv)
        @command = argv
        @constraints << "with command #{argv.inspect}"
        self
      end

      def with_reason(reason)
        @reason = reason
        @constraints << "with reason #{reason.is_a?(Regexp) ? "matching #{reason.inspect}" : reason.inspect}"
        self
      end

      def supports_block_expectations?
        true
      end

      def matches?(block)
        raise ArgumentError, "request_restart needs a block: expect { ... }.to request_restart" unless block.is_a?(Proc)

        before = Testing.requests.size
        block.call
        @made = Testing.requests.drop(before)
        @made.any? { |request| wanted?(request) }
      end

      def does_not_match?(block)
        !matches?(block)
      end

      def description
        (["request a restart"] + @constraints).join(" ")
      end

      def failure_message
        "expected the block to #{description}, but it #{made}"
      end

      def failure_message_when_negated
        "expected the block not to #{description}, but it #{made}"
      end

      private

      def wanted?(request)
        return false if request.kind == :launch
        return false if defined?(@command) && request.command != @command
        return false if defined?(@reason) && !(@reason === request.reason) # rubocop:disable Style/CaseEquality

        true
      end

      def made
        return "requested nothing" if @made.empty?

        lines = @made.map { |request| "  #{request}#{" (a launch, not a restart)" if request.kind == :launch}" }
        "requested:\n#{lines.join("\n")}"
      end
    end
  end
end

RSpec.configure do |config|
  config.include JRestart::Testing::Matchers
  config.before { JRestart::Testing.clear }
  config.after { JRestart::Testing.clear }
end
