package org.jrestart.core.launch;

import jnr.constants.platform.Access;
import jnr.constants.platform.Errno;
import jnr.constants.platform.Fcntl;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Linux;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.Signals;
import org.jrestart.core.posix.Stat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Replaces this process's image with a new run of a program, same pid: what a
 * service supervised by pid needs for a restart. Nothing of the JVM survives
 * the exec but the descriptors the request keeps: every other one is marked
 * close-on-exec first (the JDK opens its own without it). Returns only by
 * throwing, with every change undone, when the exec fails.
 */
public final class Reexec {
    private static final int F_GETFD = Fcntl.F_GETFD.intValue();
    private static final int F_SETFD = Fcntl.F_SETFD.intValue();
    private static final int F_OK = Access.F_OK.intValue();
    private static final int PATH_MAX = 4096;
    // What the kernel appends to /proc/self/exe once the file has been unlinked.
    private static final byte[] DELETED = " (deleted)".getBytes(StandardCharsets.US_ASCII);

    private Reexec() {
    }

    /**
     * The program this process runs, by /proc/self/exe. A JDK upgraded in place
     * replaces the binary: the link then ends in " (deleted)", and the new file
     * at the original path is what runs next.
     */
    public static byte[] selfProgram() throws JRestartException {
        byte[] link = readlink("/proc/self/exe");
        if (!endsWith(link, DELETED) || exists(link)) return link;
        byte[] original = Arrays.copyOf(link, link.length - DELETED.length);
        if (exists(original)) return original;
        throw JRestartException.errno(Errno.ENOENT.intValue(), Native.text(original)
                + " (this process's program, deleted since it started)");
    }

    /** This process's argv, by /proc/self/cmdline: every NUL-terminated entry, empty ones included. */
    public static List<byte[]> selfArgv() throws JRestartException {
        byte[] cmdline;
        try {
            cmdline = Files.readAllBytes(Paths.get("/proc/self/cmdline"));
        } catch (IOException | SecurityException e) {
            throw JRestartException.state("/proc/self/cmdline cannot be read (" + e.getMessage() + "): is /proc mounted?");
        }
        List<byte[]> argv = new ArrayList<byte[]>();
        int start = 0;
        for (int i = 0; i < cmdline.length; i++) {
            if (cmdline[i] == 0) {
                argv.add(Arrays.copyOfRange(cmdline, start, i));
                start = i + 1;
            }
        }
        // A process that rewrote its argv area may leave the last entry unterminated.
        if (start < cmdline.length) argv.add(Arrays.copyOfRange(cmdline, start, cmdline.length));
        return argv;
    }

    private static byte[] readlink(String path) throws JRestartException {
        Pointer buffer = Memory.allocateDirect(Native.RUNTIME, PATH_MAX, true);
        long n = Native.LIBC.readlink(Native.cString(path), buffer,
                PATH_MAX);
        if (n < 0) throw JRestartException.errno(Native.errno(), path);
        byte[] target = new byte[(int) n];
        buffer.get(0, target, 0, target.length);
        return target;
    }

    private static boolean exists(byte[] path) throws JRestartException {
        return Native.LIBC.access(Native.cString(path, "program"), F_OK) == 0;
    }

    private static boolean endsWith(byte[] bytes, byte[] suffix) {
        return bytes.length >= suffix.length
                && Arrays.equals(Arrays.copyOfRange(bytes, bytes.length - suffix.length, bytes.length), suffix);
    }

    /** Replaces this process with request's program; listener (may be null) hears of it first. */
    public static void exec(LaunchRequest request, ExecListener listener) throws JRestartException {
        Pointer path = Native.cStringMemory(request.path, "program");
        Pointer argvp = Native.cStringArray(request.command, "argument");
        // The new image reaps the commands this one launched and has not reaped yet.
        Pointer envp = Native.cStringArray(Reaping.handOver(request.environment), "environment entry");

        List<int[]> fdFlags = closeOnExec(request.inheritance());
        List<int[]> restored = new ArrayList<int[]>();
        List<Disposition> dispositions = new ArrayList<Disposition>();
        Pointer oldMask = Signals.buffer();
        boolean maskSaved = false;
        boolean announced = false;
        try {
            // Ignored signals stay ignored across exec, and so does the mask: a JVM
            // started under nohup, or Ruby code that ignored a signal, must not pass
            // that on. Handled signals are reset by exec itself.
            resetIgnoredSignals(dispositions);
            maskSaved = Native.LIBC.pthread_sigmask(Linux.SIG_SETMASK, Signals.EMPTY_SET, oldMask) == 0;
            if (listener != null) {
                listener.beforeExec();
                announced = true;
            }
            // Last, after everything the stop ran: a listener it closed goes back on its number.
            restoreHeld(request.held, restored);
            Native.LIBC.execve(path, argvp, envp);
            throw JRestartException.errno(Native.errno(), Native.text(request.path));
        } finally {
            if (announced) listener.execFailed();
            // Reached only when execve failed: the process goes on serving as it was.
            if (maskSaved) Native.LIBC.pthread_sigmask(Linux.SIG_SETMASK, oldMask, null);
            for (Disposition saved : dispositions) Native.LIBC.sigaction(saved.signal, saved.action, null);
            for (int[] fd : fdFlags) Native.LIBC.fcntl(fd[0], F_SETFD, fd[1]);
            undoRestored(restored);
        }
    }

    /**
     * Puts each held duplicate back on its number where that number no longer
     * is the same file (the service closed it, or the JDK's close left its
     * placeholder there); adds [fd, saved copy of what was there or -1] to restored.
     */
    private static void restoreHeld(int[][] held, List<int[]> restored) throws JRestartException {
        for (int i = 0; i < held[0].length; i++) {
            int from = held[0][i];
            int to = held[1][i];
            Stat copy = Descriptors.fstat(from);
            Stat now = Native.LIBC.fcntl(to, F_GETFD, 0) == -1 ? null : Descriptors.fstat(to);
            if (now != null && now.dev == copy.dev && now.ino == copy.ino) continue;
            int saved = now == null ? -1 : Native.LIBC.fcntl(to, Linux.F_DUPFD_CLOEXEC, 3);
            if (Native.LIBC.dup2(from, to) < 0) {
                int errno = Native.errno();
                if (saved >= 0) Native.LIBC.close(saved);
                undoRestored(restored);
                throw JRestartException.errno(errno, "dup2(" + from + ", " + to + ") putting a held listener back");
            }
            restored.add(new int[] {to, saved});
        }
    }

    /** After a failed exec: each restored number gets back what it was, or is closed again. */
    private static void undoRestored(List<int[]> restored) {
        for (int[] r : restored) {
            if (r[1] >= 0) {
                Native.LIBC.dup2(r[1], r[0]);
                Native.LIBC.close(r[1]);
            } else {
                Native.LIBC.close(r[0]);
            }
        }
        restored.clear();
    }

    /**
     * Marks every descriptor above 2 that the new image does not inherit
     * close-on-exec, and clears the flag on the kept ones; returns
     * [fd, old flags] of each change, to undo them if the exec fails.
     */
    private static List<int[]> closeOnExec(Inheritance inheritance) throws JRestartException {
        List<int[]> changed = new ArrayList<int[]>();
        for (int fd : Descriptors.numbers()) {
            if (fd <= 2) continue;
            int flags = Native.LIBC.fcntl(fd, F_GETFD, 0);
            if (flags == -1) continue;
            int wanted = inheritance.kept(fd) ? flags & ~Linux.FD_CLOEXEC : flags | Linux.FD_CLOEXEC;
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
