# frozen_string_literal: true

# Loads the jar that `rake compile` built; builds nothing itself.
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
unless File.exist?(File.expand_path("../lib/jrestart/jrestart.jar", __dir__))
  abort "lib/jrestart/jrestart.jar is missing: run `bin/rake spec` (or `bin/rake compile` first)"
end
require "jrestart"
require_relative "support/processes"

RSpec.configure do |config|
  config.include JRestartSpec::Processes
  config.disable_monkey_patching!
  config.order = :defined
  # Orphans of the services the specs kill are re-parented to this JVM, which
  # can then reap them: no spec leaves a zombie behind.
  config.before(:suite) { JRestartSpec::Processes.become_subreaper }
end
