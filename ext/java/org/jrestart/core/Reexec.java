package org.jrestart.core;

import jnr.constants.platform.Errno;
import jnr.constants.platform.Fcntl;
import jnr.ffi.Pointer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Replaces this process's image with a new run of a program, same pid: what a
 * service supervised by pid needs for a restart. Nothing of the JVM survives
 * the exec but the descriptors the plan keeps: every other one is marked
 * close-on-exec first (the JDK opens its own without it). Returns only by
 * throwing, with every change undone, when the exec fails.
 */
final class Reexec {
    private static final int F_GETFD = Fcntl.F_GETFD.intValue();
    private static final int F_SETFD = Fcntl.F_SETFD.intValue();
    private static final String DELETED = " (deleted)";

    private Reexec() {
    }

    static void exec(Plan plan) throws JRestartException {
        Pointer path = Native.cStringMemory(plan.path, "program");
        Pointer argvp = Native.cStringArray(plan.command, "argument");
        Pointer envp = Native.cStringArray(plan.environment, "environment entry");

        List<int[]> fdFlags = closeOnExec(plan.inheritance());
        List<Disposition> dispositions = new ArrayList<Disposition>();
        Pointer oldMask = Signals.buffer();
        boolean maskSaved = false;
        try {
            // Ignored signals stay ignored across exec, and so does the mask: a JVM
            // started under nohup, or Ruby code that ignored a signal, must not pass
            // that on. Handled signals are reset by exec itself.
            resetIgnoredSignals(dispositions);
            maskSaved = Native.LIBC.pthread_sigmask(Linux.SIG_SETMASK, Signals.EMPTY_SET, oldMask) == 0;
            Native.LIBC.execve(path, argvp, envp);
            throw JRestartException.errno(Native.errno(), Native.text(plan.path));
        } finally {
            // Reached only when execve failed: the process goes on serving as it was.
            if (maskSaved) Native.LIBC.pthread_sigmask(Linux.SIG_SETMASK, oldMask, null);
            for (Disposition saved : dispositions) Native.LIBC.sigaction(saved.signal, saved.action, null);
            for (int[] fd : fdFlags) Native.LIBC.fcntl(fd[0], F_SETFD, fd[1]);
        }
    }

    /** This process's command line, every entry of /proc/self/cmdline (empty ones too). */
    static List<byte[]> selfArgv() throws JRestartException {
        byte[] raw = readProc("/proc/self/cmdline");
        List<byte[]> argv = new ArrayList<byte[]>();
        int start = 0;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == 0) {
                argv.add(Arrays.copyOfRange(raw, start, i));
                start = i + 1;
            }
        }
        if (argv.isEmpty()) throw JRestartException.state("/proc/self/cmdline is empty");
        return argv;
    }

    /**
     * The executable this process runs. When it was replaced on disk (a JDK
     * upgrade), the kernel appends " (deleted)" to the link: the file now at
     * that path is the one to run.
     */
    static byte[] selfProgram() throws JRestartException {
        String exe;
        try {
            exe = Files.readSymbolicLink(Paths.get("/proc/self/exe")).toString();
        } catch (IOException | SecurityException e) {
            throw JRestartException.state("/proc/self/exe cannot be read (" + e.getMessage() + "): is /proc mounted?");
        }
        if (exe.endsWith(DELETED) && !Files.exists(Paths.get(exe))) {
            String replaced = exe.substring(0, exe.length() - DELETED.length());
            if (!Files.isRegularFile(Paths.get(replaced))) {
                throw JRestartException.errno(Errno.ENOENT.intValue(), replaced
                        + " (this JVM's executable was deleted and nothing replaced it)");
            }
            exe = replaced;
        }
        return Native.bytes(exe);
    }

    private static byte[] readProc(String path) throws JRestartException {
        try {
            return Files.readAllBytes(Paths.get(path));
        } catch (IOException | SecurityException e) {
            throw JRestartException.state(path + " cannot be read (" + e.getMessage() + "): is /proc mounted?");
        }
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
