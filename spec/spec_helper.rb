# frozen_string_literal: true

# Loads the jar that `rake compile` built; builds nothing itself.
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
unless File.exist?(File.expand_path("../lib/jrestart/jrestart.jar", __dir__))
  abort "lib/jrestart/jrestart.jar is missing: run `bin/rake spec` (or `bin/rake compile` first)"
end
require "jrestart"
require "fileutils"
require "tmpdir"
require_relative "support/processes"

# Every process the suite starts inherits these. The suite restarts its
# services many times in a row on purpose: the restart-loop guard would
# refuse the sixth, so it is off except where spec/integration/guard_spec.rb
# turns it on. Guard and record state goes to a directory of this run, not
# to ~/.local/state.
ENV["JRESTART_LIMIT"] = "off"
ENV["STATE_DIRECTORY"] = Dir.mktmpdir("jrestart-spec-state-")
state_directory = ENV["STATE_DIRECTORY"]
at_exit { FileUtils.rm_rf(state_directory) }
# This JVM's own state directory (restart plans executed in it keep their state there), when bin/rake made one.
jvm_state_directory = java.lang.System.getenv("STATE_DIRECTORY")
at_exit { FileUtils.rm_rf(jvm_state_directory) } if jvm_state_directory&.include?("/jrestart-spec-jvm-state-")

RSpec.configure do |config|
  config.include JRestartSpec::Processes
  config.disable_monkey_patching!
  config.order = :defined
  # Examples that kill a service adopt its orphans, so that they can reap them
  # too. Only those: an init script's daemons must stay the init's orphans,
  # or start-stop-daemon would wait on zombies this JVM has not reaped yet.
  # Examples that plan restarts with no command must not find a JRESTART_COMMAND the shell running the suite set.
  config.around(:each, :without_restart_command) do |example|
    saved = ENV.delete("JRESTART_COMMAND")
    example.run
  ensure
    saved ? ENV["JRESTART_COMMAND"] = saved : ENV.delete("JRESTART_COMMAND")
  end

  config.around(:each, :subreaper) do |example|
    JRestartSpec::Processes.subreaper(true)
    example.run
  ensure
    JRestartSpec::Processes.subreaper(false)
    reap_orphans
  end
end
