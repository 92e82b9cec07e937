# frozen_string_literal: true

module JRestart
  VERSION = "0.2.0"
end
