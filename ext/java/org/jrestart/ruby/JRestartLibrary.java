package org.jrestart.ruby;

import org.jrestart.core.Plan;
import org.jrestart.core.launch.Reaping;
import org.jrestart.core.listen.Listeners;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Support;
import org.jrestart.core.posix.Warnings;
import org.jruby.Ruby;
import org.jruby.RubyModule;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.runtime.load.BasicLibraryService;

/**
 * Loaded by lib/jrestart.rb: readies the core (libc symbols, classes) so that
 * a restart never loads anything late, then wires the classes, each of which
 * defines itself.
 */
public final class JRestartLibrary implements BasicLibraryService {
    @Override
    public boolean basicLoad(Ruby runtime) {
        // Where the core cannot work the gem still loads (a plugin's tests run on
        // a Mac): JRestart.features says why, and each native operation raises.
        if (Support.unavailable() == null) {
            try {
                Plan.prepare();
            } catch (JRestartException e) {
                throw runtime.newLoadError("jrestart cannot prepare posix_spawn: " + e.getMessage());
            }
            adoptChildren(runtime);
            final Ruby ruby = runtime;
            // The core's warnings go through Kernel#warn, where a Ruby program looks for them ($stderr, Warning).
            Warnings.to(new Warnings.Sink() {
                @Override
                public void warn(String message) {
                    ruby.getKernel().callMethod(ruby.getCurrentContext(), "warn", ruby.newString("jrestart: " + message));
                }
            });
            Plan.claimRecord();
            // Read now, once: the inherited listeners are marked close-on-exec before anything is started.
            try {
                Listeners.inherited();
            } catch (JRestartException e) {
                Warnings.warn("the listeners handed to this JVM cannot be read: " + e.getMessage());
            }
            // This runtime's at_exit handlers and buffered IO, for the orderly stop before an exec in place.
            RuntimeStop.register(runtime);
        }
        RubyModule jrestart = RubyJRestart.createJRestartModule(runtime);
        RubyStat.createStatClass(runtime, jrestart);
        RubyDescriptor.createDescriptorClass(runtime, jrestart);
        RubyLaunch.createLaunchClass(runtime, jrestart);
        RubyPlan.createPlanClass(runtime, jrestart);
        RubyDetect.createDetectModule(runtime, jrestart);
        RubyRestartHook.createRestartHookClass(runtime, jrestart);
        RubyListen.define(jrestart);
        return true;
    }

    /**
     * Reaps the commands an image before reexec! launched, and takes their
     * pids out of ENV so that nothing started from here inherits them.
     */
    private static void adoptChildren(Ruby runtime) {
        IRubyObject env = runtime.getObject().getConstant("ENV");
        IRubyObject pids = env.callMethod(runtime.getCurrentContext(), "delete", runtime.newString(Reaping.HAND_OVER));
        if (!pids.isNil()) Reaping.adopt(pids.asJavaString());
    }
}
