# frozen_string_literal: true

# Loaded into each generation of the demo service by bench/restart.rb
# (`jruby -r`): times JRestart.restart! inside the service and notes the delay
# it asked for, in $DEMO_RUN_DIR/restart-call-PID, so that the bench can split
# a restart into the restart command's start and the rest. The service itself
# runs unchanged.
require "jrestart"

module JRestartBench
  module RestartProbe
    def restart!(*argv, **options)
      start = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
      launch = super
      took = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - start
      File.write(File.join(ENV.fetch("DEMO_RUN_DIR"), "restart-call-#{Process.pid}"),
                 "#{took} #{options.fetch(:delay, 0)}\n")
      launch
    end
  end
end

JRestart.singleton_class.prepend(JRestartBench::RestartProbe)
