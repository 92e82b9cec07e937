package org.jrestart.core.launch;

import jnr.constants.platform.WaitFlags;
import jnr.ffi.byref.IntByReference;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Linux;
import org.jrestart.core.posix.Native;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.spi.AbstractInterruptibleChannel;
import java.util.concurrent.TimeUnit;

/**
 * A started command, reaped as soon as it exits so that it never lingers as a
 * zombie, whether or not anyone waits for it (Reaping has the machinery). With
 * pidfds a caller that waits reaps it on its own thread. Exactly one party
 * reaps: every claim is decided under the child's lock.
 */
public final class Child {
    static final int P_PIDFD = 3;
    static final int WEXITED = WaitFlags.WEXITED.intValue();
    static final int WNOHANG = WaitFlags.WNOHANG.intValue();
    // siginfo_t (128 bytes) as ints, the same on x86_64 and aarch64.
    static final int SIGINFO_INTS = 32;
    private static final int SI_CODE = 2;
    private static final int SI_PID = 4;
    private static final int SI_STATUS = 6;
    private static final int CLD_EXITED = 1;
    private static final int CLD_DUMPED = 3;
    private static final int POLLIN = Linux.POLLIN;
    // How often a waiter without a wake-up descriptor looks whether it was woken.
    private static final int SLICE_MS = 50;

    final int pid;
    private final byte[] command;
    private final byte[] path;
    // Open from the hand-over until the child is reaped and no waiter polls it any more.
    private int pidfd = -1;
    // In the watcher's epoll set and not yet fired (EPOLLONESHOT).
    private boolean armed;
    private int waiters;
    private boolean done;
    private int status;
    private int reapErrno;

    Child(int pid, byte[] command, byte[] path) {
        this.pid = pid;
        this.command = command;
        this.path = path;
    }

    /** Records the status of a child that was reaped while it was being started. */
    synchronized void exited(int rawStatus) {
        status = rawStatus;
        done = true;
        notifyAll();
    }

    /** Puts the child in the watcher's set with its pidfd; false (fd closed) when that fails. */
    synchronized boolean watch(int fd) {
        if (fd < 0) return false;
        pidfd = fd;
        if (!Reaping.WATCHER.add(this, fd)) {
            Native.LIBC.close(fd);
            pidfd = -1;
            return false;
        }
        armed = true;
        Reaping.UNREAPED.add(this);
        return true;
    }

    /** The watcher saw the pidfd readable (or, rarely, a stale event for its number). */
    synchronized void ready() {
        if (done || pidfd < 0) return;
        armed = false;
        // A waiter reaps on its own thread; it re-arms the watcher if it leaves first.
        if (waiters > 0) return;
        if (reapNow()) closeIfUnused();
        else rearm();
    }

    private void rearm() {
        armed = Reaping.WATCHER.rearm(pidfd);
    }

    /** Reaps the exited child through its pidfd, holding the lock; false while it still runs. */
    private boolean reapNow() {
        int[] info = new int[SIGINFO_INTS];
        int rc;
        do {
            rc = Native.PIDFD.waitid(P_PIDFD, pidfd, info, WEXITED | WNOHANG);
        } while (rc == -1 && Native.errno() == Native.EINTR);
        if (rc == -1) {
            // ECHILD: a waitpid(-1) elsewhere in the JVM took it first.
            reapErrno = Native.errno();
        } else if (info[SI_PID] == 0) {
            return false;
        } else {
            int code = info[SI_CODE];
            int value = info[SI_STATUS];
            status = code == CLD_EXITED ? (value & 0xff) << 8 : code == CLD_DUMPED ? value | 0x80 : value;
        }
        done = true;
        Reaping.UNREAPED.remove(this);
        notifyAll();
        return true;
    }

    private void closeIfUnused() {
        if (waiters > 0 || pidfd < 0) return;
        Reaping.WATCHER.forget(this, pidfd);
        Native.LIBC.close(pidfd);
        pidfd = -1;
    }

    /** The thread design's blocking reap. */
    void reap() {
        IntByReference raw = new IntByReference();
        int rc;
        int errno;
        do {
            rc = Native.LIBC.waitpid(pid, raw, 0);
            errno = rc == -1 ? Native.errno() : 0;
        } while (rc == -1 && errno == Native.EINTR);
        synchronized (this) {
            if (rc == pid) status = raw.intValue();
            else reapErrno = errno;
            done = true;
            Reaping.UNREAPED.remove(this);
            notifyAll();
        }
    }

    public int pid() {
        return pid;
    }

    /** The command as it was given. */
    public byte[] command() {
        return command.clone();
    }

    /** The file that was executed. */
    public byte[] path() {
        return path.clone();
    }

    /**
     * Waits up to timeoutNanos (forever when negative); true once the child has
     * been reaped. Thread.interrupt ends the wait with InterruptedException.
     */
    public boolean await(long timeoutNanos) throws InterruptedException {
        try (Wakeup wakeup = new Wakeup()) {
            return awaitInterruptibly(timeoutNanos, wakeup);
        }
    }

    /**
     * As await(timeoutNanos), and wakeup.wake() from another thread ends the
     * wait as well: false then, unless the child has been reaped.
     */
    boolean awaitInterruptibly(long timeoutNanos, Wakeup wakeup) throws InterruptedException {
        return new InterruptHook(wakeup).await(this, timeoutNanos);
    }

    /**
     * Waits up to timeoutNanos (forever when negative), or until wakeup.wake();
     * true once the child has been reaped. With pidfds the caller polls the
     * pidfd and reaps the child itself: no other thread is involved.
     */
    public boolean await(long timeoutNanos, Wakeup wakeup) {
        long deadline = System.nanoTime() + timeoutNanos;
        int fd;
        synchronized (this) {
            if (done) return true;
            if (pidfd < 0) return awaitReaper(timeoutNanos, deadline, wakeup);
            waiters++;
            fd = pidfd;
            // The exit then wakes only this thread: on a busy machine a second
            // wake-up (the watcher's) costs a context switch on every exit.
            if (armed) armed = !Reaping.WATCHER.disarm(fd);
        }
        try {
            int wake = wakeup.fd();
            int[] fds = {fd, POLLIN, wake, POLLIN};
            boolean last = false;
            while (!last && !wakeup.woken()) {
                int ms = -1;
                if (timeoutNanos >= 0) {
                    long left = deadline - System.nanoTime();
                    // Past the deadline it still looks once: wait(0) reaps a child that has exited.
                    last = left <= 0;
                    ms = last ? 0 : (int) Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(left + 999_999));
                }
                if (wake < 0 && (ms < 0 || ms > SLICE_MS)) ms = SLICE_MS;
                fds[1] = POLLIN;
                fds[3] = POLLIN;
                Native.PIDFD.poll(fds, wake < 0 ? 1 : 2, ms);
                // revents is the upper half of the int on these little-endian CPUs.
                if (fds[1] >>> 16 != 0) {
                    synchronized (this) {
                        if (done || reapNow()) return true;
                    }
                }
            }
            return false;
        } finally {
            synchronized (this) {
                waiters--;
                if (waiters == 0) {
                    if (done) closeIfUnused();
                    else if (!armed) rearm();
                }
            }
        }
    }

    private synchronized boolean awaitReaper(long timeoutNanos, long deadline, Wakeup wakeup) {
        wakeup.attach(this);
        while (!done && !wakeup.woken()) {
            try {
                if (timeoutNanos < 0) {
                    wait();
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) return false;
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                }
            } catch (InterruptedException e) {
                // Ends the wait like a wake: InterruptHook (or JRuby's unblocker) reports it.
                return done;
            }
        }
        return done;
    }

    /** Thread.interrupt for a plain Java waiter: the JDK's interruptible-channel hook wakes the poll. */
    private static final class InterruptHook extends AbstractInterruptibleChannel {
        private final Wakeup wakeup;

        InterruptHook(Wakeup wakeup) {
            this.wakeup = wakeup;
        }

        boolean await(Child child, long timeoutNanos) throws InterruptedException {
            boolean reaped;
            boolean interrupted = false;
            begin();
            try {
                reaped = child.await(timeoutNanos, wakeup);
            } finally {
                try {
                    end(true);
                } catch (ClosedByInterruptException e) {
                    interrupted = true;
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            }
            // A child reaped as the interrupt came is reported; the interrupt status stays set.
            if (interrupted && !reaped) {
                Thread.interrupted();
                throw new InterruptedException("waiting for pid " + child.pid);
            }
            return reaped;
        }

        @Override
        protected void implCloseChannel() {
            wakeup.wake();
        }
    }

    public synchronized boolean isDone() {
        return done;
    }

    /**
     * The raw wait status (as waitpid reports it) of a reaped child. Throws
     * when someone else reaped it first (a waitpid(-1) elsewhere in the JVM).
     */
    public synchronized int status() throws JRestartException {
        if (!done) throw JRestartException.state("child " + pid + " has not exited yet");
        if (reapErrno == Native.ECHILD) {
            throw JRestartException.errno(reapErrno, "another waitpid in this JVM (such as Process.wait without a pid)"
                    + " reaped pid " + pid + " (" + Native.text(command) + ") first: its status is lost");
        }
        if (reapErrno != 0) throw JRestartException.errno(reapErrno, "waitpid(" + pid + ")");
        return status;
    }

    @Override
    public String toString() {
        return "Child(pid " + pid + ", " + Native.text(command) + ")";
    }
}
