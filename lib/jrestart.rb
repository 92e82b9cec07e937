# frozen_string_literal: true

require "jrestart/version"
require "jrestart/jrestart.jar"

# Defines JRestart.socket?, .fstat, .open_fds, .features, .supported?, .detect,
# .restart_command, JRestart::Stat, ::Descriptor, ::Launch, ::Plan, ::Detect
# ::RestartHook, .on_restart, .restart_hooks
# and ::Error, and resolves every libc symbol a restart needs. Where
# jrestart cannot work it still loads, and the native operations raise
# NotImplementedError.
JRuby::Util.load_ext("org.jrestart.ruby.JRestartLibrary")

require "jrestart/manager"
require "jrestart/command"
require "jrestart/plan"
require "jrestart/launch"
require "jrestart/reexec"
require "jrestart/record"
require "jrestart/hooks"
require "jrestart/listen"
