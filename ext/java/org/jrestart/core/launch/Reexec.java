package org.jrestart.core.launch;

import jnr.constants.platform.Access;
import jnr.constants.platform.Errno;
import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
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
    private static final int X_OK = Access.X_OK.intValue();
    private static final int O_RDONLY = OpenFlags.O_RDONLY.intValue();
    private static final int O_CLOEXEC = OpenFlags.O_CLOEXEC.intValue();
    private static final byte[] ELF_MAGIC = {0x7f, 'E', 'L', 'F'};
    private static final byte[] SELF_EXE = "/proc/self/exe".getBytes(StandardCharsets.US_ASCII);
    /** Enough for an ELF header's identification and machine, and a #! line the kernel reads (256 since 5.1). */
    private static final int HEAD = 256;
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

    /**
     * Refuses, before anything is stopped, an exec that cannot work: program
     * missing or not executable, an ELF file for another machine or word size
     * than this JVM's, a script whose #! interpreter is missing, or neither.
     * Once the orderly stop has begun there is no way back, so what execve
     * would refuse is found here. command names it in the error.
     */
    public static void checkImage(byte[] path, byte[] command) throws JRestartException {
        String shown = Native.text(command);
        if (Native.LIBC.access(Native.cString(path, "program"), X_OK) != 0) {
            throw JRestartException.errno(Native.errno(), shown);
        }
        byte[] head = head(path, HEAD, shown);
        if (startsWith(head, ELF_MAGIC)) {
            byte[] self = head(SELF_EXE, HEAD, "/proc/self/exe");
            // EI_CLASS (32/64-bit), EI_DATA (byte order) and e_machine must be this JVM's own.
            if (head.length < 20 || self.length < 20 || head[4] != self[4] || head[5] != self[5]
                    || head[18] != self[18] || head[19] != self[19]) {
                throw JRestartException.errno(Errno.ENOEXEC.intValue(), shown + " (an ELF file for another machine"
                        + " than this JVM's)");
            }
            return;
        }
        if (head.length >= 2 && head[0] == '#' && head[1] == '!') {
            int start = 2;
            while (start < head.length && (head[start] == ' ' || head[start] == '\t')) start++;
            int end = start;
            while (end < head.length && head[end] != ' ' && head[end] != '\t' && head[end] != '\n') end++;
            byte[] interpreter = Arrays.copyOfRange(head, start, end);
            if (interpreter.length == 0 || Native.LIBC.access(Native.cString(interpreter, "interpreter"), X_OK) != 0) {
                int errno = interpreter.length == 0 ? Errno.ENOEXEC.intValue() : Native.errno();
                throw JRestartException.errno(errno, shown + " (its #! interpreter " + Native.text(interpreter)
                        + " cannot be run)");
            }
            return;
        }
        throw JRestartException.errno(Errno.ENOEXEC.intValue(), shown);
    }

    /** The first n bytes of the file at path (fewer if it is shorter). */
    private static byte[] head(byte[] path, int n, String shown) throws JRestartException {
        int fd = Native.LIBC.open(Native.cString(path, "program"), O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) throw JRestartException.errno(Native.errno(), shown);
        Pointer buffer = Memory.allocateDirect(Native.RUNTIME, n, true);
        try {
            long read = Native.LIBC.read(fd, buffer, n);
            if (read < 0) throw JRestartException.errno(Native.errno(), shown);
            byte[] head = new byte[(int) read];
            buffer.get(0, head, 0, head.length);
            return head;
        } finally {
            Native.LIBC.close(fd);
        }
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        return bytes.length >= prefix.length && Arrays.equals(Arrays.copyOf(bytes, prefix.length), prefix);
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
            // Reached only when execve failed: every change is undone; the caller decides what follows.
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
