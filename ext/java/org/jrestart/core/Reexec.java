package org.jrestart.core;

import jnr.ffi.Pointer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Replaces this process's image with a new run of a program, same pid: what a
 * service supervised by pid needs for a restart. Nothing of the JVM survives
 * the exec but the descriptors it keeps: every other one is marked
 * close-on-exec first (the JDK opens its own without it). Returns only by
 * throwing, with every change undone, when the exec fails.
 */
public final class Reexec {
    private static final int F_GETFD = 1;
    private static final int F_SETFD = 2;
    private static final int FD_CLOEXEC = 1;

    private Reexec() {
    }

    public static void exec(byte[] program, List<byte[]> argv, List<byte[]> env, int[] keep) throws PosixException {
        int[] kept = Launcher.checkKeep(keep);
        Pointer path = Native.cStringMemory(program, "program");
        Pointer argvp = Native.cStringArray(argv, "argument");
        // The new image reaps the commands this one launched and has not reaped yet.
        Pointer envp = Native.cStringArray(Child.handOver(env), "environment entry");

        List<int[]> fdFlags = closeOnExec(kept);
        List<Disposition> dispositions = new ArrayList<Disposition>();
        Pointer oldMask = Signals.buffer();
        boolean maskSaved = false;
        try {
            // Ignored signals stay ignored across exec, and so does the mask: a JVM
            // started under nohup, or Ruby code that ignored a signal, must not pass
            // that on. Handled signals are reset by exec itself.
            resetIgnoredSignals(dispositions);
            maskSaved = Native.LIBC.pthread_sigmask(Signals.SIG_SETMASK, Signals.EMPTY_SET, oldMask) == 0;
            Native.LIBC.execve(path, argvp, envp);
            throw new PosixException(Native.errno(), Native.text(program));
        } finally {
            // Reached only when execve failed: the process goes on serving as it was.
            if (maskSaved) Native.LIBC.pthread_sigmask(Signals.SIG_SETMASK, oldMask, null);
            for (Disposition saved : dispositions) Native.LIBC.sigaction(saved.signal, saved.action, null);
            for (int[] fd : fdFlags) Native.LIBC.fcntl(fd[0], F_SETFD, fd[1]);
        }
    }

    /** Sets FD_CLOEXEC on every descriptor above 2 but the kept ones, clears it on those; returns [fd, old flags]. */
    private static List<int[]> closeOnExec(int[] kept) {
        List<int[]> changed = new ArrayList<int[]>();
        for (int fd : Descriptors.numbers()) {
            if (fd <= 2) continue;
            int flags = Native.LIBC.fcntl(fd, F_GETFD, 0);
            if (flags == -1) continue;
            int wanted = Arrays.binarySearch(kept, fd) >= 0 ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC;
            if (wanted != flags && Native.LIBC.fcntl(fd, F_SETFD, wanted) == 0) changed.add(new int[] {fd, flags});
        }
        return changed;
    }

    private static void resetIgnoredSignals(List<Disposition> saved) {
        for (int sig : Signals.ignored()) {
            Pointer old = Signals.buffer();
            if (Native.LIBC.sigaction(sig, Signals.DEFAULT_ACTION, old) == 0) saved.add(new Disposition(sig, old));
        }
    }

    /** A signal's struct sigaction as it was, to put back if the exec fails. */
    private static final class Disposition {
        final int signal;
        final Pointer action;

        Disposition(int signal, Pointer action) {
            this.signal = signal;
            this.action = action;
        }
    }
}
