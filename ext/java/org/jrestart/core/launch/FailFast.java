package org.jrestart.core.launch;

import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Native;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A restart command that fails at once (systemctl's "Access denied", sv's
 * "unable to control", supervisorctl's "ERROR") must not pass for a restart
 * in progress: restart waits up to WINDOW_MS for it and throws with its exit
 * status and output when it fails, while the service is still untouched. A
 * command still running then, or done with status 0, is doing its job; so is
 * one killed by a signal while this JVM is being stopped (systemd kills the
 * unit's cgroup, systemctl included, as it carries out the restart). The
 * watch ends as soon as this JVM's stop begins: the manager has the job.
 */
public final class FailFast {
    /** How long restart watches the command; the README's restart! section says so too. */
    public static final long WINDOW_MS = 2000;
    /**
     * How long a command killed by a signal may precede this JVM's own stop: a
     * manager stopping the service signals both at once.
     */
    static final long STOP_GRACE_MS = 1000;
    private static final long STOP_PROBE_MS = 10;
    private static final int OUTPUT_LIMIT = 4096;
    private static final int O_RDONLY = OpenFlags.O_RDONLY.intValue();
    private static final int O_NOFOLLOW = OpenFlags.O_NOFOLLOW.intValue();
    private static final int O_CLOEXEC = OpenFlags.O_CLOEXEC.intValue();
    private static final int O_NONBLOCK = OpenFlags.O_NONBLOCK.intValue();
    private static final int F_GETFL = Fcntl.F_GETFL.intValue();
    private static final int F_SETFL = Fcntl.F_SETFL.intValue();

    private FailFast() {
    }

    /**
     * listener, when not null, learns the command's exit status if it ends
     * while it is watched. client: the command is a service manager's own client
     * (sv, svc, s6-svc, supervisorctl, systemctl, systemd-run: the caller decides),
     * which asks the manager and hands none of its stdio to the service;
     * without a log its output comes through a pipe. Anything else
     * may start the service itself, which would keep whatever the command has
     * as stdout for its whole life: it gets the log or /dev/null, as documented.
     */
    public static Child launch(LaunchRequest request, ExitListener listener, boolean client) throws JRestartException {
        int[] pipe = client && request.log == null ? pipe() : null;
        long offset = request.log == null ? 0 : size(request.log);
        Child child;
        try {
            // supervisorctl restart stops the service, prints, then starts it: after the
            // stop this JVM, the pipe's reader, is gone, and the print would meet SIGPIPE
            // (or EPIPE) and the start never come. The command holds a reader of its own,
            // never read: a manager client's few lines fit in the pipe's buffer.
            child = Launcher.launch(pipe == null ? request : request.keeping(pipe[0]), pipe == null ? -1 : pipe[1]);
        } catch (JRestartException | RuntimeException e) {
            if (pipe != null) Native.LIBC.close(pipe[0]);
            throw e;
        } finally {
            // Only the command holds the write end now: its exit is the pipe's end.
            if (pipe != null) Native.LIBC.close(pipe[1]);
        }
        int output = pipe == null ? -1 : pipe[0];
        try {
            if (!exited(child)) return child;
            int status = child.status();
            if (listener != null) listener.exited(status);
            if (status == 0) return child;
            boolean signalled = (status & 0x7f) != 0;
            if (signalled && stopping()) return child;
            String text = output >= 0 ? readAvailable(output) : request.log == null ? "" : readLog(request.log, offset);
            String command = "the restart command " + Native.text(request.command.get(0));
            String where = output < 0 && request.log == null
                    ? ". Its output went to /dev/null (restart! with log: keeps it)"
                    : text.isEmpty() ? "" : ". Its output: " + text;
            if (signalled) {
                // Whoever sent the signal, the command may have done part of its work: never claim it did nothing.
                throw JRestartException.state(command + " was killed by signal " + (status & 0x7f) + " within "
                        + WINDOW_MS + " ms, while this JVM was not being stopped; what it did before is unknown, so"
                        + " the service may still restart" + where);
            }
            throw JRestartException.state(command + " failed at once (exit status " + ((status >> 8) & 0xff)
                    + "); the service was left as it was" + where);
        } finally {
            if (output >= 0) drain(output);
        }
    }

    /**
     * Waits up to WINDOW_MS for the command to exit. False when it still runs,
     * and as soon as this JVM's own stop begins: the manager has taken the job
     * and is stopping the service, so what the caller does after restart runs
     * now (while the JVM shuts down) or never.
     */
    private static boolean exited(Child child) {
        Runtime runtime = Runtime.getRuntime();
        try (final Wakeup wakeup = new Wakeup()) {
            Thread hook = new Thread(new Runnable() {
                @Override
                public void run() {
                    wakeup.wake();
                }
            }, "jrestart-watch-stop");
            try {
                runtime.addShutdownHook(hook);
            } catch (IllegalStateException e) {
                return child.isDone();
            }
            try {
                return child.awaitInterruptibly(TimeUnit.MILLISECONDS.toNanos(WINDOW_MS), wakeup);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } finally {
                try {
                    runtime.removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // The stop has begun: the hook runs and wakes a closed Wakeup, which does nothing.
                }
            }
        }
    }

    /**
     * Whether this JVM is being stopped, waiting up to STOP_GRACE_MS for its
     * shutdown to begin: the JDK refuses new shutdown hooks from then on.
     */
    private static boolean stopping() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STOP_GRACE_MS);
        Runtime runtime = Runtime.getRuntime();
        while (true) {
            Thread probe = new Thread("jrestart-shutdown-probe");
            try {
                runtime.addShutdownHook(probe);
                runtime.removeShutdownHook(probe);
            } catch (IllegalStateException e) {
                return true;
            }
            if (System.nanoTime() - deadline >= 0) return false;
            try {
                Thread.sleep(STOP_PROBE_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** A close-on-exec pipe: [read end, above 2; write end]. */
    private static int[] pipe() throws JRestartException {
        int[] fds = new int[2];
        if (Native.LIBC.pipe2(fds, O_CLOEXEC) != 0) throw JRestartException.errno(Native.errno(), "pipe2");
        try {
            // The command keeps the read end, and keep: takes no stdio number.
            fds[0] = Launcher.aboveStdio(fds[0]);
        } catch (JRestartException e) {
            Native.LIBC.close(fds[1]);
            throw e;
        }
        return fds;
    }

    /**
     * What the command wrote, up to OUTPUT_LIMIT bytes, without waiting: a
     * process it left behind may hold the pipe open without writing.
     */
    private static String readAvailable(int fd) {
        int flags = Native.LIBC.fcntl(fd, F_GETFL, 0);
        if (flags < 0 || Native.LIBC.fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return "";
        Pointer buffer = Memory.allocateDirect(Native.RUNTIME, OUTPUT_LIMIT, true);
        int total = 0;
        while (total < OUTPUT_LIMIT) {
            long n = Native.LIBC.read(fd, buffer.slice(total), OUTPUT_LIMIT - total);
            if (n < 0 && Native.errno() == Native.EINTR) continue;
            if (n <= 0) break;
            total += (int) n;
        }
        Native.LIBC.fcntl(fd, F_SETFL, flags);
        return text(buffer, total);
    }

    /**
     * Reads the pipe to its end on a daemon thread, then closes it: a command
     * still writing never meets a closed pipe (EPIPE, or SIGPIPE's default
     * death), however long it runs while this JVM lives.
     */
    private static void drain(final int fd) {
        Thread thread = new Thread(new Runnable() {
            @Override
            public void run() {
                Pointer buffer = Memory.allocateDirect(Native.RUNTIME, OUTPUT_LIMIT, true);
                long n;
                do {
                    n = Native.LIBC.read(fd, buffer, OUTPUT_LIMIT);
                } while (n > 0 || n < 0 && Native.errno() == Native.EINTR);
                Native.LIBC.close(fd);
            }
        }, "jrestart-restart-output");
        thread.setDaemon(true);
        try {
            thread.start();
        } catch (OutOfMemoryError e) {
            // No thread left: keep the pipe open for the JVM's life rather than close it under the command.
        }
    }

    private static long size(byte[] log) {
        int fd = open(log);
        if (fd < 0) return 0;
        try {
            return Descriptors.fstat(fd).size;
        } catch (JRestartException e) {
            return 0;
        } finally {
            Native.LIBC.close(fd);
        }
    }

    private static String readLog(byte[] log, long offset) {
        int fd = open(log);
        if (fd < 0) return "";
        try {
            Pointer buffer = Memory.allocateDirect(Native.RUNTIME, OUTPUT_LIMIT, true);
            long n = Native.LIBC.pread(fd, buffer, OUTPUT_LIMIT, offset);
            return text(buffer, n <= 0 ? 0 : (int) n);
        } finally {
            Native.LIBC.close(fd);
        }
    }

    private static int open(byte[] log) {
        try {
            return Native.LIBC.open(Native.cString(log, "log"), O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
        } catch (JRestartException e) {
            return -1;
        }
    }

    /** length bytes of buffer as text, trimmed. */
    private static String text(Pointer buffer, int length) {
        byte[] bytes = new byte[length];
        buffer.get(0, bytes, 0, length);
        return new String(bytes, StandardCharsets.UTF_8).trim();
    }
}
