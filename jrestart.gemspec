# frozen_string_literal: true

require_relative "lib/jrestart/version"

Gem::Specification.new do |s|
  s.name = "jrestart"
  s.version = JRestart::VERSION
  s.platform = "java"
  s.summary = "Restart the JVM service a JRuby plugin runs in: detached, and without leaking its sockets"
  s.description = <<~TEXT
    Starts a service's restart command with posix_spawn from inside the JVM:
    in a new session, with cwd /, default signals, stdio on /dev/null or a log,
    and none of the JVM's descriptors (JDK sockets are not close-on-exec).
    Also a truthful fstat/socket? for raw descriptors. Uses the jnr-ffi that
    JRuby ships; Linux x86_64 and aarch64.
  TEXT
  s.license = "MIT"
  s.authors = ["jrestart developers"]
  s.required_ruby_version = ">= 2.6"
  s.files = Dir["lib/**/*.rb"] + ["lib/jrestart/jrestart.jar", "README.md", "LICENSE"]
  s.require_paths = ["lib"]

  s.add_development_dependency "rake", ">= 12"
  s.add_development_dependency "rake-compiler", ">= 1.1"
  s.add_development_dependency "rspec", ">= 3.10"
end
