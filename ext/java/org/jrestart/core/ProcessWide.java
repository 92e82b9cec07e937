package org.jrestart.core;

import org.jrestart.core.posix.JRestartException;

import java.security.SecureRandom;
import java.util.Properties;

/**
 * State that must be one per process, not one per class loader: every JRuby
 * runtime (ScriptingContainer, a jruby-rack pool) loads jrestart.jar through
 * its own class loader, and a Java host loads the facade through yet another,
 * so a static field would exist once per loader. The system properties are
 * one table for the whole JVM, whatever loaded this class, and Properties
 * (a Hashtable) claims a key atomically.
 */
public final class ProcessWide {
    /** Held by the restart under way in this process; its value says who started it. */
    private static final String RESTART = "org.jrestart.restart";
    /** Test mode: "on" while a test suite has it on; nothing restarts, launches or execs. */
    public static final String TEST_MODE = "org.jrestart.testing";
    private static final SecureRandom IDS = new SecureRandom();

    private ProcessWide() {
    }

    /**
     * Claims the process's one restart, or throws STATE naming who holds it.
     * The returned token releases it (release) when the restart did not happen.
     */
    static String claimRestart() throws JRestartException {
        String token = "thread \"" + Thread.currentThread().getName() + "\" of class loader "
                + ProcessWide.class.getClassLoader() + " (" + Long.toHexString(IDS.nextLong()) + ")";
        Object holder = properties().putIfAbsent(RESTART, token);
        if (holder != null) {
            throw JRestartException.state("a restart is already under way in this process (started by " + holder
                    + "): at most one restart per process, whichever JRuby runtime or class loader asks");
        }
        return token;
    }

    /** Gives the restart back: it did not happen, another may. */
    static void releaseRestart(String token) {
        properties().remove(RESTART, token);
    }

    /**
     * Whether a restart holds the process's turn: one under way or started.
     * An exec in place that failed or was vetoed after its delay gave it back.
     */
    public static boolean restartClaimed() {
        return properties().containsKey(RESTART);
    }

    /** Whether test mode is on anywhere in this process. */
    public static boolean testMode() {
        return "on".equals(properties().get(TEST_MODE));
    }

    /** Turns test mode on or off for the whole process: every runtime and the Java facade. */
    public static void testMode(boolean on) {
        if (on) properties().put(TEST_MODE, "on");
        else properties().remove(TEST_MODE);
    }

    private static Properties properties() {
        return System.getProperties();
    }
}
