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
    Under systemd and in containers it picks what works there: systemctl,
    systemd-run out of the unit's cgroup, or a restart in place, guarded by
    the unit's start limit. Also a truthful fstat/socket? for raw descriptors
    and a Java facade for Java hosts. Uses the jnr-ffi that JRuby ships;
    Linux x86_64 and aarch64.
  TEXT
  s.license = "MIT"
  s.authors = ["jrestart developers"]
  # JRuby 9.4 (Ruby 3.1) is the oldest JRuby tested. No JRuby implements 2.7
  # (9.3 is 2.6, which lacks the filter_map lib/ uses), so ">= 2.7" would only
  # name a Ruby level nothing here runs on.
  s.required_ruby_version = ">= 3.1"
  # No homepage or metadata URIs: the project has no public URL yet.
  s.files = Dir["lib/**/*.rb"] + ["lib/jrestart/jrestart.jar", "README.md", "CHANGELOG.md", "LICENSE"]
  s.require_paths = ["lib"]

  s.add_development_dependency "rake", ">= 12"
  s.add_development_dependency "rake-compiler", ">= 1.1"
  s.add_development_dependency "rspec", ">= 3.10"
end
