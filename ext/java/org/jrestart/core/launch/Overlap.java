package org.jrestart.core.launch;

import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
import jnr.constants.platform.Signal;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.FileType;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Linux;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.Proc;
import org.jrestart.core.posix.Stat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A new JVM started beside this one (the overlap restart), and the other
 * side of it: the new JVM saying it is ready. The new JVM stays in this
 * process's session and cwd, keeps the listeners, and writes its output
 * through pipes that this JVM copies to its own stdout and stderr, keeping
 * the tail: a JVM that fails to boot is reported with what it said. Once
 * ready, the new JVM puts the real stdout and stderr (handed to it as
 * duplicates) back on 1 and 2, so that nothing it writes depends on this
 * JVM, which is about to exit; then it writes one byte on the ready pipe.
 */
public final class Overlap {
    /** "OLDPID:READYFD:STDOUTFD:STDERRFD" in the new JVM's environment; -1 for a stdio this JVM did not have. */
    public static final String VARIABLE = "JRESTART_OVERLAP";
    /** How much of the new JVM's output a failure reports. */
    static final int TAIL = 4096;
    /** How long a new JVM that failed gets to stop on SIGTERM before SIGKILL. */
    static final long TERM_GRACE_MILLIS = 10000;
    private static final int SIGTERM = Signal.SIGTERM.intValue();
    private static final int SIGKILL = Signal.SIGKILL.intValue();
    private static final int O_CLOEXEC = OpenFlags.O_CLOEXEC.intValue();
    private static final int F_GETFD = Fcntl.F_GETFD.intValue();
    private static final int F_SETFD = Fcntl.F_SETFD.intValue();
    private static final int POLLIN = Linux.POLLIN;
    private static final long SLICE_MILLIS = 50;
    private static boolean signalled;

    /** How the wait for the new JVM ended. */
    public enum Outcome {
        READY,
        /** It exited (or was killed) before it said it was ready. */
        EXITED,
        TIMEOUT,
        /** The waiting thread was interrupted (Thread.interrupt, or JRuby's Thread#raise through the Wakeup). */
        INTERRUPTED
    }

    /** The new JVM as this JVM's child; null when its manager adopted it (adopted). */
    private final Child child;
    /** The new JVM's pid; -1 when it exited before it could be found. */
    private final int pid;
    private int readyFd;
    /** The ready pipe ended without a byte: nothing holds its other end any more. */
    private boolean ended;
    private final Tail tail = new Tail();
    private final Thread[] pumps;

    private Overlap(Child child, int pid, int readyFd, int outFd, int errFd) {
        this.child = child;
        this.pid = pid;
        this.readyFd = readyFd;
        // One pipe for both when the old JVM's stdout and stderr are one file (start).
        this.pumps = errFd == outFd ? new Thread[] {pump(outFd, 1, pid)}
                : new Thread[] {pump(outFd, 1, pid), pump(errFd, 2, pid)};
    }

    /**
     * Starts request's program beside this process (LaunchRequest.beside),
     * stdin from fd stdin (the inherited channel, or 0), its stdout and
     * stderr through this JVM. adopted: through setsid -f, which forks it
     * and exits, so that this JVM's parent (systemd) adopts it at once: it
     * takes as the unit's main process (MAINPID=) only a process of its own,
     * and would SIGKILL any other on the unit's stop, without waiting for it.
     * Nothing is left open when it throws.
     */
    public static Overlap start(LaunchRequest request, int stdin, boolean adopted) throws JRestartException {
        int[] opened = new int[7];
        Arrays.fill(opened, -1);
        try {
            int[] ready = pipe("the ready pipe");
            opened[0] = ready[0];
            opened[1] = ready[1];
            int[] out = pipe("the stdout pipe");
            opened[2] = out[0];
            opened[3] = out[1];
            // One pipe when stdout and stderr are one file (a log, the journal): the tail then keeps the
            // order the new JVM wrote its lines in, which two pipes, read by two threads, cannot.
            boolean oneFile = sameFile(1, 2);
            int[] err = oneFile ? out : pipe("the stderr pipe");
            if (!oneFile) {
                opened[4] = err[0];
                opened[5] = err[1];
            }
            int savedOut = Descriptors.isOpen(1) ? Launcher.duplicateAbove(1) : -1;
            opened[6] = savedOut;
            int savedErr = Descriptors.isOpen(2) ? Launcher.duplicateAbove(2) : -1;
            int in = stdin;
            int devNull = -1;
            try {
                if (!Descriptors.isOpen(in)) in = devNull = Launcher.devNull();
                List<byte[]> env = LaunchRequest.setting(request.environment, VARIABLE,
                        Proc.selfPid() + ":" + ready[1] + ":" + savedOut + ":" + savedErr);
                LaunchRequest beside = request.keeping(ready[1], savedOut, savedErr)
                        .beside(new int[] {in, out[1], err[1]}, env);
                Overlap overlap;
                if (adopted) {
                    Child setsid = Launcher.launch(beside.through(Launcher.setsidPath(), "-f"), -1);
                    Native.LIBC.close(ready[1]);
                    opened[1] = -1;
                    String how = awaitSetsid(setsid);
                    if (how != null) throw JRestartException.state("setsid -f, starting the new JVM, " + how);
                    overlap = new Overlap(null, Proc.holderOf(ready[0]), ready[0], out[0], err[0]);
                } else {
                    Child child = Launcher.launch(beside, -1);
                    overlap = new Overlap(child, child.pid, ready[0], out[0], err[0]);
                }
                opened[0] = opened[2] = opened[4] = -1;
                return overlap;
            } finally {
                if (devNull >= 0) Native.LIBC.close(devNull);
                if (savedErr >= 0) Native.LIBC.close(savedErr);
            }
        } finally {
            for (int fd : opened) if (fd >= 0) Native.LIBC.close(fd);
        }
    }

    /** Waits for setsid -f, which exits once it has forked; null when it did, else what went wrong. */
    private static String awaitSetsid(Child setsid) {
        try (Wakeup wakeup = new Wakeup()) {
            if (!setsid.await(TimeUnit.SECONDS.toNanos(10), wakeup)) {
                Native.LIBC.kill(setsid.pid, SIGKILL);
                setsid.await(TimeUnit.SECONDS.toNanos(10), wakeup);
                return "did not exit within 10 s";
            }
            int raw = setsid.status();
            return raw == 0 ? null : "failed (wait status " + raw + ")";
        } catch (JRestartException e) {
            return "cannot be waited for: " + e.getMessage();
        }
    }

    private static boolean sameFile(int a, int b) {
        try {
            Stat first = Descriptors.fstat(a);
            Stat second = Descriptors.fstat(b);
            return first.dev == second.dev && first.ino == second.ino;
        } catch (JRestartException e) {
            return false;
        }
    }

    private static int[] pipe(String what) throws JRestartException {
        int[] fds = new int[2];
        if (Native.LIBC.pipe2(fds, O_CLOEXEC) != 0) throw JRestartException.errno(Native.errno(), "pipe2 (" + what + ")");
        // Above 2 whatever the service closed: the new JVM's stdio is dup2'ed over 0 to 2.
        try {
            fds[0] = Launcher.above(fds[0], 3);
        } catch (JRestartException e) {
            Native.LIBC.close(fds[1]);
            throw e;
        }
        try {
            fds[1] = Launcher.above(fds[1], 3);
        } catch (JRestartException e) {
            Native.LIBC.close(fds[0]);
            throw e;
        }
        return fds;
    }

    /** Copies what the new JVM writes on from to this JVM's own fd to, keeping the tail. */
    private Thread pump(final int from, final int to, int pid) {
        Thread thread = new Thread(new Runnable() {
            @Override
            public void run() {
                Pointer buffer = Memory.allocateDirect(Native.RUNTIME, 8192, true);
                byte[] bytes = new byte[8192];
                try {
                    while (true) {
                        long n = Native.LIBC.read(from, buffer, bytes.length);
                        if (n < 0 && Native.errno() == Native.EINTR) continue;
                        if (n <= 0) return;
                        buffer.get(0, bytes, 0, (int) n);
                        tail.add(bytes, (int) n);
                        for (long done = 0; done < n; ) {
                            long w = Native.LIBC.write(to, buffer.slice(done), n - done);
                            if (w < 0 && Native.errno() == Native.EINTR) continue;
                            if (w <= 0) break;
                            done += w;
                        }
                    }
                } finally {
                    Native.LIBC.close(from);
                }
            }
        }, "jrestart overlap output of pid " + pid);
        thread.setDaemon(true);
        // The host's class loader stays out of it (Tomcat reports such threads as leaks).
        thread.setContextClassLoader(null);
        thread.start();
        return thread;
    }

    public int pid() {
        return pid;
    }

    /** Whether the new JVM has exited (adopted: its ready pipe ended, and it is gone or a zombie). */
    private boolean exited() {
        if (child != null) return child.isDone();
        return ended && !alive(pid);
    }

    private static boolean alive(int pid) {
        String[] fields = pid <= 0 ? null : Proc.statFields(String.valueOf(pid));
        return fields != null && !fields[0].equals("Z");
    }

    /**
     * The new JVM's parent pid now: once its manager adopted it, the same as
     * this JVM's parent; -1 when it is gone.
     */
    public int parentOfNew() {
        return pid <= 0 ? -1 : Proc.parentPid(pid);
    }

    /**
     * Waits up to timeoutNanos for the new JVM to say it is ready, to exit,
     * or for wakeup (or Thread.interrupt) to end the wait.
     */
    public Outcome await(long timeoutNanos, Wakeup wakeup) {
        long deadline = System.nanoTime() + timeoutNanos;
        Pointer fds = Memory.allocateDirect(Native.RUNTIME, 16, true);
        Pointer byteBuffer = Memory.allocateDirect(Native.RUNTIME, 1, true);
        while (true) {
            if (readyFd >= 0) {
                int n = 0;
                fds.putInt(0, readyFd);
                fds.putShort(4, (short) POLLIN);
                fds.putShort(6, (short) 0);
                int wake = wakeup.fd();
                if (wake >= 0) {
                    fds.putInt(8, wake);
                    fds.putShort(12, (short) POLLIN);
                    fds.putShort(14, (short) 0);
                    n = 1;
                }
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                Native.LIBC.poll(fds, 1 + n, (int) Math.max(0, Math.min(SLICE_MILLIS, left)));
                if (fds.getShort(6) != 0) {
                    long r = Native.LIBC.read(readyFd, byteBuffer, 1);
                    if (r == 1) {
                        closeReady();
                        return Outcome.READY;
                    }
                    // The end of the pipe without a byte: the new JVM (or whatever held the pipe) is gone.
                    if (r == 0) {
                        ended = true;
                        closeReady();
                    }
                }
            } else {
                try {
                    Thread.sleep(Math.max(1, Math.min(SLICE_MILLIS,
                            TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (exited()) return Outcome.EXITED;
            if (wakeup.woken() || Thread.currentThread().isInterrupted()) return Outcome.INTERRUPTED;
            if (System.nanoTime() - deadline >= 0) return Outcome.TIMEOUT;
        }
    }

    private void closeReady() {
        Native.LIBC.close(readyFd);
        readyFd = -1;
    }

    /**
     * Stops a new JVM that did not become ready: SIGTERM, then SIGKILL after
     * TERM_GRACE_MILLIS; reaps it and returns how it ended, in words.
     */
    public String abandon() {
        if (readyFd >= 0) closeReady();
        if (child != null ? !child.isDone() : alive(pid)) {
            Native.LIBC.kill(pid, SIGTERM);
            if (!awaitQuietly(TimeUnit.MILLISECONDS.toNanos(TERM_GRACE_MILLIS))) {
                Native.LIBC.kill(pid, SIGKILL);
                awaitQuietly(TimeUnit.SECONDS.toNanos(10));
            }
        }
        // Its pipes end with it (unless a process it started holds them).
        for (Thread pump : pumps) {
            try {
                pump.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return status();
    }

    private boolean awaitQuietly(long nanos) {
        if (child != null) {
            try (Wakeup wakeup = new Wakeup()) {
                return child.await(nanos, wakeup);
            }
        }
        // Adopted: its manager reaps it; gone (or a zombie) is enough.
        long deadline = System.nanoTime() + nanos;
        while (alive(pid)) {
            if (System.nanoTime() - deadline >= 0) return false;
            try {
                Thread.sleep(SLICE_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !alive(pid);
            }
        }
        return true;
    }

    /** How the new JVM ended, in words ("exited with status 3", "killed by SIGKILL"), or that it still runs. */
    public String status() {
        if (child == null) {
            return alive(pid) ? "still running" : "exited (systemd, which adopted it, has its exit status: journalctl)";
        }
        if (!child.isDone()) return "still running";
        int raw;
        try {
            raw = child.status();
        } catch (JRestartException e) {
            return "status unknown (" + e.getMessage() + ")";
        }
        if ((raw & 0x7f) == 0) return "exited with status " + ((raw >> 8) & 0xff);
        Signal signal = Signal.valueOf(raw & 0x7f);
        return "killed by " + (signal == null || !signal.defined() ? "signal " + (raw & 0x7f) : signal.name());
    }

    /** The last TAIL bytes the new JVM wrote on stdout and stderr, as text. */
    public String tail() {
        return tail.text();
    }

    /**
     * The new JVM's side: tells the JVM that started it beside itself that
     * it is ready, once, after putting the real stdout and stderr back on 1
     * and 2. false, and nothing done, in a JVM no overlap started, in one
     * whose old JVM is gone, or the second time.
     */
    public static synchronized boolean signalReady() {
        if (signalled) return false;
        signalled = true;
        int[] handed = handed();
        if (handed == null) return false;
        for (int fd = 1; fd <= 2; fd++) {
            int saved = handed[fd + 1];
            if (saved >= 0 && Native.LIBC.fcntl(saved, F_GETFD, 0) != -1) {
                Native.LIBC.dup2(saved, fd);
                Native.LIBC.close(saved);
            }
        }
        Pointer r = Memory.allocateDirect(Native.RUNTIME, 1, true);
        r.putByte(0, (byte) 'R');
        long written;
        do {
            written = Native.LIBC.write(handed[1], r, 1);
        } while (written < 0 && Native.errno() == Native.EINTR);
        Native.LIBC.close(handed[1]);
        return written == 1;
    }

    /**
     * Marks what the overlap handed this JVM close-on-exec, so that nothing
     * it starts holds the ready pipe or a copy of stdio; when jrestart loads.
     */
    public static synchronized void adopt() {
        if (signalled) return;
        int[] handed = handed();
        if (handed == null) return;
        for (int i = 1; i < handed.length; i++) {
            int flags = handed[i] < 0 ? -1 : Native.LIBC.fcntl(handed[i], F_GETFD, 0);
            if (flags != -1) Native.LIBC.fcntl(handed[i], F_SETFD, flags | Linux.FD_CLOEXEC);
        }
    }

    /**
     * [old pid, ready fd, stdout fd, stderr fd] from VARIABLE, when this JVM's
     * parent is the old JVM named there and the ready fd is a pipe; else null.
     */
    private static int[] handed() {
        String value = System.getenv(VARIABLE);
        if (value == null) return null;
        String[] parts = value.split(":");
        if (parts.length != 4) return null;
        int[] handed = new int[4];
        try {
            for (int i = 0; i < 4; i++) handed[i] = Integer.parseInt(parts[i]);
        } catch (NumberFormatException e) {
            return null;
        }
        // Its parent, or (adopted by the manager) the process that holds the other end of the ready pipe.
        if (handed[0] <= 1 || handed[1] < 3
                || Proc.parentPid() != handed[0] && !Proc.shares(handed[0], handed[1])) {
            return null;
        }
        try {
            if (Descriptors.fstat(handed[1]).type() != FileType.FIFO) return null;
        } catch (JRestartException e) {
            return null;
        }
        return handed;
    }

    /** The old JVM's pid when this JVM was started beside it by an overlap restart and it still runs; else -1. */
    public static int oldPid() {
        int[] handed = handed();
        return handed == null ? -1 : handed[0];
    }

    /** The last TAIL bytes written, from every pump. */
    private static final class Tail {
        private final byte[] ring = new byte[TAIL];
        private long total;

        synchronized void add(byte[] bytes, int n) {
            for (int i = Math.max(0, n - TAIL); i < n; i++) ring[(int) (total++ % TAIL)] = bytes[i];
        }

        synchronized String text() {
            int size = (int) Math.min(total, TAIL);
            byte[] out = new byte[size];
            long start = total - size;
            for (int i = 0; i < size; i++) out[i] = ring[(int) ((start + i) % TAIL)];
            return new String(out, StandardCharsets.UTF_8);
        }
    }
}
