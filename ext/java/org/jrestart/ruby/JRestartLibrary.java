package org.jrestart.ruby;

import org.jruby.Ruby;
import org.jruby.RubyModule;
import org.jruby.runtime.load.BasicLibraryService;

/** Loaded by lib/jrestart.rb; only wires the classes, each of which defines itself. */
public final class JRestartLibrary implements BasicLibraryService {
    @Override
    public boolean basicLoad(Ruby runtime) {
        RubyModule jrestart = RubyJRestart.createJRestartModule(runtime);
        RubyStat.createStatClass(runtime, jrestart);
        RubyDescriptor.createDescriptorClass(runtime, jrestart);
        RubyLaunch.createLaunchClass(runtime, jrestart);
        return true;
    }
}
