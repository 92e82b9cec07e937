# frozen_string_literal: true

module JRestart
  VERSION = "0.1.0"
end
