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
  # Examples that kill a service adopt its orphans, so that they can reap them
  # too. Only those: an init script's daemons must stay the init's orphans,
  # or start-stop-daemon would wait on zombies this JVM has not reaped yet.
  config.around(:each, :subreaper) do |example|
    JRestartSpec::Processes.subreaper(true)
    example.run
  ensure
    JRestartSpec::Processes.subreaper(false)
    reap_orphans
  end
end
