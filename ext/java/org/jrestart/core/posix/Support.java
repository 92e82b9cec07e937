package org.jrestart.core.posix;

/**
 * Whether the core works on this platform. Elsewhere (macOS, another CPU, a
 * libc lacking a function it needs) the gem still loads, so that a plugin's
 * own tests run there, but every operation that would touch libc or /proc
 * refuses, naming the platform, rather than give a wrong answer.
 */
public final class Support {
    private Support() {
    }

    /** Why the core cannot work here; null on a supported platform. */
    public static String unavailable() {
        return Native.UNAVAILABLE;
    }

    /** Refuses operation (e.g. "launch") where the core cannot work. */
    public static void require(String operation) throws JRestartException {
        String refusal = refusal(operation);
        if (refusal != null) throw JRestartException.unsupported(refusal);
    }

    /** What require(operation) would refuse with, naming the platform and why; null where it works. */
    public static String refusal(String operation) {
        String reason = Native.UNAVAILABLE;
        if (reason == null) return null;
        return operation + " is not available on " + platform() + ": " + reason
                + "; jrestart supports Linux (x86_64, aarch64) with glibc";
    }

    /** This OS and CPU as Java names them, e.g. "Mac OS X aarch64". */
    public static String platform() {
        return System.getProperty("os.name") + " " + System.getProperty("os.arch");
    }
}
