package org.jrestart.core;

import jnr.ffi.byref.IntByReference;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A started command. A daemon thread reaps it as soon as it exits, so it never
 * lingers as a zombie whether or not anyone waits for it.
 */
public final class Child {
    private final int pid;
    private final byte[] command;
    private final byte[] path;
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

    /** Loads what a Reaper and status use, and starts the first spare reaper, ahead of the first launch. */
    static void prepare() throws JRestartException {
        Reaper.take(new byte[0]).giveBack();
        JRestartException.errno(0, "prepare");
    }

    /**
     * A daemon thread that reaps one child. One is always started before the
     * child is, so that a JVM out of threads (RLIMIT_NPROC counts them) refuses
     * the launch instead of leaving a started command nobody will reap. A spare
     * is kept started ahead, so that a launch does not wait for a thread to start.
     */
    static final class Reaper implements Runnable {
        private static final AtomicReference<Reaper> SPARE = new AtomicReference<Reaper>();

        private Child child;
        private boolean cancelled;

        private Reaper() {
        }

        /** The spare reaper, or a new one: EAGAIN when no thread can be started. */
        static Reaper take(byte[] command) throws JRestartException {
            Reaper spare = SPARE.getAndSet(null);
            if (spare != null) return spare;
            Reaper reaper = startNew();
            if (reaper == null) {
                throw JRestartException.errno(Native.EAGAIN, "no thread left to reap the command (launching "
                        + Native.text(command) + ")");
            }
            return reaper;
        }

        private static Reaper startNew() {
            Reaper reaper = new Reaper();
            Thread thread = new Thread(reaper, "jrestart-spare-reaper");
            thread.setDaemon(true);
            try {
                thread.start();
            } catch (OutOfMemoryError e) {
                return null; // "unable to create native thread"
            }
            return reaper;
        }

        /** Hands the started child over; one that was reaped already needs nothing more. */
        synchronized void reap(Child started) {
            if (started.isDone()) cancelled = true;
            else child = started;
            notifyAll();
        }

        /** Not needed after all (the launch failed): it becomes the spare again, or ends. */
        void giveBack() {
            if (!SPARE.compareAndSet(null, this)) cancel();
        }

        private synchronized void cancel() {
            cancelled = true;
            notifyAll();
        }

        @Override
        public void run() {
            Child started;
            synchronized (this) {
                while (child == null && !cancelled) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        // nobody else interrupts this thread; keep waiting for the hand-over
                    }
                }
                started = child;
            }
            if (started == null) return;
            Thread.currentThread().setName("jrestart-reaper-" + started.pid);
            // The next launch's reaper starts here, off the launching thread; if
            // no thread can start now, that launch tries again and refuses.
            if (SPARE.get() == null) {
                Reaper next = startNew();
                if (next != null) next.giveBack();
            }
            started.reap();
        }
    }

    private void reap() {
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

    /** Waits up to timeoutNanos (forever when negative); true once the child has been reaped. */
    public synchronized boolean await(long timeoutNanos) throws InterruptedException {
        if (timeoutNanos < 0) {
            while (!done) wait();
            return true;
        }
        long deadline = System.nanoTime() + timeoutNanos;
        while (!done) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
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
        if (reapErrno != 0) throw JRestartException.errno(reapErrno, "waitpid(" + pid + ")");
        return status;
    }

    @Override
    public String toString() {
        return "Child(pid " + pid + ", " + Native.text(command) + ")";
    }
}
