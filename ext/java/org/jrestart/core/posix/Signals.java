package org.jrestart.core.posix;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.util.Arrays;

/**
 * What a new program must not inherit from the JVM's signal state. exec resets
 * handled signals by itself, but ignored ones stay ignored (a JVM under nohup
 * has SIGHUP ignored) and so does the thread's mask.
 */
public final class Signals {
    private static final long SIG_IGN = 1L;
    private static final int NSIG = 65;
    // Room for glibc's struct sigaction (152 bytes on x86_64 and aarch64, sa_handler
    // first) and sigset_t (128 bytes).
    static final int BUFFER_SIZE = 256;
    // Only ever read (by sigaction, pthread_sigmask, posix_spawnattr_setsig*), so built once.
    public static final Pointer FULL_SET = set(true);
    public static final Pointer EMPTY_SET = set(false);
    /** A struct sigaction for SIG_DFL: all zero. */
    public static final Pointer DEFAULT_ACTION = buffer();

    private Signals() {
    }

    /** The signals whose disposition is SIG_IGN now. */
    public static int[] ignored() {
        int[] found = new int[NSIG];
        int count = 0;
        Pointer action = buffer();
        for (int sig = 1; sig < NSIG; sig++) {
            // 32 and 33 are glibc's own and refused; KILL and STOP cannot be ignored.
            if (Native.LIBC.sigaction(sig, null, action) == 0 && action.getAddress(0) == SIG_IGN) found[count++] = sig;
        }
        return Arrays.copyOf(found, count);
    }

    private static Pointer set(boolean full) {
        Pointer set = buffer();
        if (full) Native.LIBC.sigfillset(set);
        else Native.LIBC.sigemptyset(set);
        return set;
    }

    public static Pointer buffer() {
        return Memory.allocateDirect(Native.RUNTIME, BUFFER_SIZE, true);
    }
}
