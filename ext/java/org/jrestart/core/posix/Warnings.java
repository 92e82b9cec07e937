package org.jrestart.core.posix;

/**
 * Where the core says what it did not stop for (a corrupt state file it
 * replaced, a state directory it could not use): stderr by default; the
 * JRuby binding routes it through Kernel#warn.
 */
public final class Warnings {
    /** Receives each warning, without the "jrestart: " prefix. */
    public interface Sink {
        void warn(String message);
    }

    private static volatile Sink sink = new Sink() {
        @Override
        public void warn(String message) {
            System.err.println("jrestart: " + message);
        }
    };

    private Warnings() {
    }

    public static void to(Sink to) {
        sink = to;
    }

    public static void warn(String message) {
        sink.warn(message);
    }
}
