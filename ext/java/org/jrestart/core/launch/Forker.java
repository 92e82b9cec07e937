package org.jrestart.core.launch;

import jnr.constants.platform.Errno;
import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
import jnr.constants.platform.Signal;
import jnr.constants.platform.WaitFlags;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.byref.IntByReference;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Linux;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.Signals;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The original plugin's way to start the restart command: fork() and execve()
 * through FFI. Everything the child needs is in native memory before the fork;
 * the child then only makes libc calls with ints and pointers until execve.
 *
 * It is still Java that runs in the child between fork and exec, on a copy of
 * the JVM without its other threads. If a safepoint was under way at fork time,
 * the child blocks for ever on its way back from fork into Java. So the parent
 * watches: the child reports a failure through a close-on-exec pipe, whose end
 * of file means the exec happened; a child that neither execs nor fails in time
 * is stopped, found still before its exec, killed, and the fork tried again.
 * Nothing of the command has run in a child that is killed.
 */
final class Forker {
    private static final int O_CLOEXEC = OpenFlags.O_CLOEXEC.intValue();
    private static final int F_SETFD = Fcntl.F_SETFD.intValue();
    private static final int SIGKILL = Signal.SIGKILL.intValue();
    private static final int SIGCONT = Signal.SIGCONT.intValue();
    private static final int SIGSTOP = Signal.SIGSTOP.intValue();
    private static final int WUNTRACED = WaitFlags.WUNTRACED.intValue();
    private static final long EXECED = 0;
    private static final long TIMEOUT = -1;
    private static final int EINTR = Native.EINTR;
    private static final int ETIMEDOUT = Errno.ETIMEDOUT.intValue();
    static final int ATTEMPTS = 8;
    static final long EXEC_TIMEOUT_MS = 1000;

    // What the child reports before _exit(127): the step that failed and errno.
    private static final int REPORT_SIZE = 8;
    private static final String[] STEPS = {
        "setsid", "chdir", "stdin", "stdout", "stderr", "close", "keep", "signals", "execve", "spare"};
    private static final int SETSID = 0, CHDIR = 1, STDIN = 2, STDOUT = 3, STDERR = 4, CLOSE = 5, KEEP = 6,
            SIGNALS = 7, EXECVE = 8, SPARE = 9;

    private Forker() {
    }

    /** Everything the child uses, made before the fork. */
    static final class ChildSetup {
        Pointer path;
        Pointer argv;
        Pointer envp;
        Pointer chdir;
        int stdin = -1;
        int stdout = -1;
        int status = -1;
        /** Pinned by each attempt once its status pipe is open, into the four arrays below. */
        Inheritance inheritance;
        /** Inheritance.keep: close-on-exec is cleared on these. */
        int[] keep;
        /** Inheritance.untouched: every other descriptor above 2 is closed. */
        int[] untouched;
        /** Inheritance.Pinned: pinned[i] is dup2'ed onto spared[i] before the closes. */
        int[] pinned;
        int[] spared;
        /** The open descriptors, listed before the fork where close_range is missing. */
        int[] open;
        int[] ignored;
        final Pointer report = Memory.allocateDirect(Native.RUNTIME, REPORT_SIZE, true);
    }

    /**
     * Forks and execs; returns once the exec has happened. stdout is the
     * command's stdout and stderr (the log, or an open /dev/null).
     */
    static Child start(byte[] command, byte[] path, ChildSetup plan) throws JRestartException {
        plan.ignored = Signals.ignored();
        if (Native.CLOSE_RANGE == null) plan.open = Descriptors.numbers();
        // One fork at a time: a second child would hold a copy of the first's
        // status pipe, and the first's end of file would wait for both.
        synchronized (Forker.class) {
            for (int attempt = 1; ; attempt++) {
                Child child = attempt(command, path, plan);
                if (child != null) return child;
                if (attempt == ATTEMPTS) {
                    throw JRestartException.errno(ETIMEDOUT, "the forked child did not reach exec within " + EXEC_TIMEOUT_MS
                            + " ms, " + ATTEMPTS + " times (launching " + Native.text(command) + ")");
                }
            }
        }
    }

    /** One fork: the started child (not yet reaped), or null when it hung before exec and was killed. */
    private static Child attempt(byte[] command, byte[] path, ChildSetup plan) throws JRestartException {
        int[] pipe = new int[2];
        if (Native.LIBC.pipe2(pipe, O_CLOEXEC) != 0) {
            throw JRestartException.errno(Native.errno(), "pipe2 (launching " + Native.text(command) + ")");
        }
        int[] untouched = plan.inheritance.untouched;
        try {
            // The child's stdio is dup2'ed over 0-2, and the pinned descriptors over
            // untouched numbers: the status pipe must be none of them.
            plan.status = Launcher.aboveStdio(pipe[1]);
            if (Arrays.binarySearch(untouched, plan.status) >= 0) {
                plan.status = Launcher.above(plan.status, untouched[untouched.length - 1] + 1);
            }
        } catch (JRestartException e) {
            Native.LIBC.close(pipe[0]);
            throw e;
        }
        Inheritance.Pinned pinned;
        try {
            pinned = plan.inheritance.pin(command);
        } catch (JRestartException e) {
            Native.LIBC.close(pipe[0]);
            Native.LIBC.close(plan.status);
            throw e;
        }
        plan.keep = pinned.inheritance.keep;
        plan.untouched = pinned.inheritance.untouched;
        plan.pinned = pinned.from;
        plan.spared = pinned.to;
        int pid = Native.LIBC.fork();
        if (pid == 0) child(plan);
        int forkErrno = Native.errno();
        Native.LIBC.close(plan.status);
        pinned.close();
        try {
            if (pid == -1) throw JRestartException.errno(forkErrno, "fork (launching " + Native.text(command) + ")");
            long outcome = await(pipe[0], plan.report, EXEC_TIMEOUT_MS);
            int exited = -1;
            if (outcome == TIMEOUT) {
                // Freeze the child, then look again: exec closes its end of the
                // pipe, so a pipe still open means it has not exec'ed and can be
                // killed before it runs anything of the command.
                Native.LIBC.kill(pid, SIGSTOP);
                int status = waitpid(pid, WUNTRACED); // once it has stopped, or ended
                outcome = await(pipe[0], plan.report, 0);
                if ((status & 0xff) != 0x7f) exited = status; // it ended on its own meanwhile
                else if (outcome == EXECED) Native.LIBC.kill(pid, SIGCONT);
            }
            if (outcome == EXECED) {
                Child child = new Child(pid, command, path);
                if (exited >= 0) child.exited(exited);
                return child;
            }
            if (exited < 0) {
                Native.LIBC.kill(pid, SIGKILL);
                waitpid(pid, 0);
            }
            if (outcome == TIMEOUT) return null;
            int step = plan.report.getInt(0);
            int errno = plan.report.getInt(4);
            if (step == EXECVE) throw JRestartException.errno(errno, Native.text(command));
            throw JRestartException.errno(errno, STEPS[step] + " in the forked child (launching "
                    + Native.text(command) + ")");
        } finally {
            Native.LIBC.close(pipe[0]);
        }
    }

    /** Loads and initialises what a fork launch uses, ahead of the first one. */
    static void prepare() {
        new ChildSetup();
        Signals.ignored();
    }

    /**
     * EXECED once the pipe reaches end of file, REPORT_SIZE when the child
     * reported a failure, TIMEOUT when it did neither within timeoutMs.
     */
    private static long await(int fd, Pointer report, long timeoutMs) {
        Pointer pollfd = Memory.allocateDirect(Native.RUNTIME, 8, true);
        pollfd.putInt(0, fd);
        pollfd.putShort(4, Linux.POLLIN);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        long got = 0;
        while (got < REPORT_SIZE) {
            long left = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            int ready = Native.LIBC.poll(pollfd, 1, (int) left);
            if (ready < 0 && Native.errno() == EINTR) continue;
            if (ready <= 0) return TIMEOUT;
            long n = Native.LIBC.read(fd, report.slice(got), REPORT_SIZE - got);
            if (n == 0) return got == 0 ? EXECED : TIMEOUT;
            if (n > 0) got += n;
            else if (Native.errno() != EINTR) return TIMEOUT;
        }
        return got;
    }

    /** waitpid(pid, options) until it is not interrupted; the raw status. */
    private static int waitpid(int pid, int options) {
        IntByReference status = new IntByReference();
        while (Native.LIBC.waitpid(pid, status, options) == -1 && Native.errno() == EINTR) {
            // interrupted: the child is still ours to wait for
        }
        return status.intValue();
    }

    /** The child: libc calls only, from fork to execve; never returns. */
    private static void child(ChildSetup p) {
        if (Native.LIBC.setsid() == -1) fail(p, SETSID);
        if (Native.LIBC.chdir(p.chdir) == -1) fail(p, CHDIR);
        if (Native.LIBC.dup2(p.stdin, 0) == -1) fail(p, STDIN);
        if (Native.LIBC.dup2(p.stdout, 1) == -1) fail(p, STDOUT);
        if (Native.LIBC.dup2(1, 2) == -1) fail(p, STDERR);
        for (int i = 0; i < p.pinned.length; i++) {
            if (Native.LIBC.dup2(p.pinned[i], p.spared[i]) == -1) fail(p, SPARE);
        }
        if (p.open != null) {
            for (int fd : p.open) {
                if (fd > 2 && fd != p.status && Arrays.binarySearch(p.untouched, fd) < 0) Native.LIBC.close(fd);
            }
        } else {
            // Every number but the untouched ones and the status pipe, open or
            // not: this also closes what other threads opened after we looked.
            int from = 3;
            for (int i = 0; i <= p.untouched.length; i++) {
                int upto = i < p.untouched.length ? p.untouched[i] : -1;
                if (p.status >= from && (upto == -1 || p.status < upto)) {
                    closeRange(p, from, p.status - 1);
                    from = p.status + 1;
                }
                closeRange(p, from, upto == -1 ? -1 : upto - 1);
                from = upto + 1;
            }
        }
        for (int fd : p.keep) {
            if (Native.LIBC.fcntl(fd, F_SETFD, 0) == -1) fail(p, KEEP);
        }
        for (int sig : p.ignored) {
            if (Native.LIBC.sigaction(sig, Signals.DEFAULT_ACTION, null) == -1) fail(p, SIGNALS);
        }
        if (Native.LIBC.pthread_sigmask(Linux.SIG_SETMASK, Signals.EMPTY_SET, null) != 0) fail(p, SIGNALS);
        Native.LIBC.execve(p.path, p.argv, p.envp);
        fail(p, EXECVE);
    }

    /** close_range(first, last): last -1 means to the end; an empty range is skipped. */
    private static void closeRange(ChildSetup p, int first, int last) {
        if (last != -1 && last < first) return;
        if (Native.CLOSE_RANGE.close_range(first, last, 0) == -1) fail(p, CLOSE);
    }

    private static void fail(ChildSetup p, int step) {
        p.report.putInt(4, Native.errno());
        p.report.putInt(0, step);
        Native.LIBC.write(p.status, p.report, REPORT_SIZE);
        Native.LIBC._exit(127);
    }
}
