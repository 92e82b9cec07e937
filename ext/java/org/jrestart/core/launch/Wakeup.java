package org.jrestart.core.launch;

import jnr.constants.platform.OpenFlags;
import org.jrestart.core.posix.Native;

/**
 * Ends a Child.await early from another thread: JRuby's Thread#raise,
 * Thread#kill and Ctrl-C through the thread's unblocker, Thread.interrupt for
 * a plain Java caller. A wake that comes before the wait has begun still ends
 * it, until clear().
 */
public final class Wakeup implements AutoCloseable {
    private static final int EFD_FLAGS = OpenFlags.O_CLOEXEC.intValue() | OpenFlags.O_NONBLOCK.intValue();

    // An eventfd the waiter polls next to the pidfd; -1 with the thread reaper,
    // or when no descriptor was left (the waiter then looks every SLICE_MS).
    private int fd = -1;
    private boolean woken;
    private Object monitor;

    public Wakeup() {
        if (Reaping.polling()) fd = Native.PIDFD.eventfd(0, EFD_FLAGS);
    }

    public void wake() {
        Object waiting;
        synchronized (this) {
            woken = true;
            if (fd >= 0) Native.PIDFD.eventfd_write(fd, 1);
            waiting = monitor;
        }
        if (waiting != null) {
            synchronized (waiting) {
                waiting.notifyAll();
            }
        }
    }

    /** Forgets the wakes so far, before waiting again. */
    public synchronized void clear() {
        woken = false;
        if (fd >= 0) Native.PIDFD.eventfd_read(fd, new long[1]);
    }

    /** Whether wake() was called since the last clear(). */
    public synchronized boolean woken() {
        return woken;
    }

    synchronized int fd() {
        return fd;
    }

    /** A thread-reaper wait sleeps on monitor: wake() notifies it. */
    synchronized void attach(Object waiting) {
        monitor = waiting;
    }

    /** Once the wait is over; a later wake() does nothing. */
    @Override
    public synchronized void close() {
        if (fd >= 0) Native.LIBC.close(fd);
        fd = -1;
        monitor = null;
    }
}
