package org.jrestart.core;

import jnr.constants.platform.WaitFlags;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.byref.IntByReference;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.spi.AbstractInterruptibleChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A started command, reaped as soon as it exits so that it never lingers as a
 * zombie, whether or not anyone waits for it. With pidfds (Linux 5.4+, glibc
 * 2.36+) a caller that waits reaps it on its own thread, and one background
 * thread reaps every child nobody waits for. Exactly one party reaps: every
 * claim is decided under the child's lock. Without pidfds each child has a
 * reaper thread of its own.
 */
public final class Child {
    /** Carries the pids of unreaped children across reexec!, to be reaped by the new image. */
    public static final String HAND_OVER = "JRESTART_CHILDREN";

    private static final int P_PIDFD = 3;
    private static final int WEXITED = WaitFlags.WEXITED.intValue();
    private static final int WNOHANG = WaitFlags.WNOHANG.intValue();
    // siginfo_t (128 bytes) as ints, the same on x86_64 and aarch64.
    private static final int SIGINFO_INTS = 32;
    private static final int SI_CODE = 2;
    private static final int SI_PID = 4;
    private static final int SI_STATUS = 6;
    private static final int CLD_EXITED = 1;
    private static final int CLD_DUMPED = 3;
    private static final int POLLIN = Linux.POLLIN;
    // How often a waiter without a wake-up descriptor looks whether it was woken.
    private static final int SLICE_MS = 50;

    // null when pidfds are unusable here: then every child has a reaper thread.
    private static final Watcher WATCHER = Watcher.open();
    private static final Set<Child> UNREAPED = ConcurrentHashMap.newKeySet();

    private final int pid;
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

    /**
     * Loads what reaping and status use, and starts the watcher thread (or the
     * first spare reaper), ahead of the first launch.
     */
    static void prepare() throws JRestartException {
        if (WATCHER == null) Reaper.take(new byte[0]).giveBack();
        else WATCHER.start();
        new Wakeup().close();
        JRestartException.errno(0, "prepare");
    }

    /** Whether children are reaped through pidfds (else by a thread each). */
    public static boolean polling() {
        return WATCHER != null;
    }

    /**
     * Reaps children of this process that an earlier image started (reexec!
     * passed their pids in HAND_OVER): nothing else here knows them. Only
     * those exact pids are waited for.
     */
    public static void adopt(String pids) {
        if (Support.unavailable() != null) return; // no earlier image can have launched anything here
        byte[] adopted = HAND_OVER.getBytes(StandardCharsets.UTF_8);
        for (String text : pids.split(",")) {
            int pid;
            try {
                pid = Integer.parseInt(text.trim());
            } catch (NumberFormatException e) {
                continue;
            }
            if (pid <= 0) continue;
            Child child = new Child(pid, adopted, adopted);
            if (WATCHER == null || !child.watch(Native.PIDFD.pidfd_open(pid, 0))) {
                Reaper reaper = Reaper.startNew();
                if (reaper != null) reaper.reap(child);
            }
        }
    }

    /** env with HAND_OVER naming the children not reaped yet (replacing any such entry), for reexec!. */
    static List<byte[]> handOver(List<byte[]> env) {
        byte[] prefix = (HAND_OVER + "=").getBytes(StandardCharsets.UTF_8);
        List<byte[]> result = new ArrayList<byte[]>();
        for (byte[] entry : env) {
            if (!startsWith(entry, prefix)) result.add(entry);
        }
        StringBuilder pids = new StringBuilder();
        for (Child child : UNREAPED) {
            if (pids.length() > 0) pids.append(',');
            pids.append(child.pid);
        }
        if (pids.length() > 0) result.add((HAND_OVER + "=" + pids).getBytes(StandardCharsets.UTF_8));
        return result;
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        if (bytes.length < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) {
            if (bytes[i] != prefix[i]) return false;
        }
        return true;
    }

    /**
     * What a launch takes before it starts anything, so that a started command
     * is sure to be reaped: a descriptor for its pidfd (a full descriptor table
     * refuses the launch), or a reaper thread (so does a JVM out of threads).
     */
    static final class Reservation {
        private int slot = -1;
        private Reaper reaper;

        static Reservation take(byte[] command) throws JRestartException {
            Reservation reservation = new Reservation();
            if (WATCHER == null) {
                reservation.reaper = Reaper.take(command);
                return reservation;
            }
            reservation.slot = Native.LIBC.fcntl(WATCHER.epfd, Linux.F_DUPFD_CLOEXEC, 0);
            if (reservation.slot < 0) {
                throw JRestartException.errno(Native.errno(), "no descriptor left for the command's pidfd (launching "
                        + Native.text(command) + ")");
            }
            return reservation;
        }

        /** Hands the started child over to be reaped. */
        void watch(Child child) {
            if (reaper != null) {
                reaper.reap(child);
                return;
            }
            int fd = child.isDone() ? -1 : Native.PIDFD.pidfd_open(child.pid, 0);
            int errno = Native.errno();
            giveBack();
            // A full table: the slot just released is the pidfd's.
            if (fd < 0 && !child.isDone() && errno == Native.EMFILE) fd = Native.PIDFD.pidfd_open(child.pid, 0);
            if (child.isDone() || child.watch(fd)) return;
            // Only when another thread took the released slot first, or epoll is out of memory.
            Reaper fallback = Reaper.startNew();
            if (fallback != null) fallback.reap(child);
        }

        /** Not needed after all (the launch failed). */
        void giveBack() {
            if (reaper != null) reaper.giveBack();
            if (slot >= 0) Native.LIBC.close(slot);
            slot = -1;
        }
    }

    /** Puts the child in the watcher's set with its pidfd; false (fd closed) when that fails. */
    private synchronized boolean watch(int fd) {
        if (fd < 0) return false;
        pidfd = fd;
        if (!WATCHER.add(this, fd)) {
            Native.LIBC.close(fd);
            pidfd = -1;
            return false;
        }
        armed = true;
        UNREAPED.add(this);
        return true;
    }

    /** The watcher saw the pidfd readable (or, rarely, a stale event for its number). */
    private synchronized void ready() {
        if (done || pidfd < 0) return;
        armed = false;
        // A waiter reaps on its own thread; it re-arms the watcher if it leaves first.
        if (waiters > 0) return;
        if (reapNow()) closeIfUnused();
        else rearm();
    }

    private void rearm() {
        armed = WATCHER.rearm(pidfd);
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
        UNREAPED.remove(this);
        notifyAll();
        return true;
    }

    private void closeIfUnused() {
        if (waiters > 0 || pidfd < 0) return;
        WATCHER.forget(this, pidfd);
        Native.LIBC.close(pidfd);
        pidfd = -1;
    }

    /**
     * The one background thread of the pidfd design: blocks in epoll_wait over
     * the pidfds of the children nobody waits for. Adding a child is an
     * epoll_ctl from the launching thread; nothing needs to wake this one.
     */
    private static final class Watcher implements Runnable {
        private static final int EPOLL_CLOEXEC = 02000000;
        private static final int EPOLL_CTL_ADD = 1;
        private static final int EPOLL_CTL_MOD = 3;
        private static final int EPOLLIN = 1;
        private static final int EPOLLONESHOT = 1 << 30;
        private static final int MAX_EVENTS = 64;
        // struct epoll_event is packed on x86_64 (12 bytes), 16 bytes elsewhere.
        private static final boolean PACKED = Platform.getNativePlatform().getCPU() == Platform.CPU.X86_64;
        private static final int EVENT_SIZE = PACKED ? 12 : 16;
        private static final int DATA = PACKED ? 4 : 8;

        final int epfd;
        private final Map<Integer, Child> children = new ConcurrentHashMap<Integer, Child>();

        private Watcher(int epfd) {
            this.epfd = epfd;
        }

        /** The watcher, or null when this kernel or libc has no usable pidfds. */
        static Watcher open() {
            if (Native.PIDFD == null) return null;
            int self = Native.PIDFD.pidfd_open(Native.LIBC.getpid(), 0);
            if (self < 0) return null; // ENOSYS: Linux before 5.3
            // Linux 5.3 has pidfd_open but no waitid(P_PIDFD) (EINVAL); ours is not our child (ECHILD).
            int rc = Native.PIDFD.waitid(P_PIDFD, self, new int[SIGINFO_INTS], WEXITED | WNOHANG);
            boolean usable = rc == -1 && Native.errno() == Native.ECHILD;
            Native.LIBC.close(self);
            if (!usable) return null;
            int epfd = Native.PIDFD.epoll_create1(EPOLL_CLOEXEC);
            return epfd < 0 ? null : new Watcher(epfd);
        }

        void start() {
            Thread thread = new Thread(this, "jrestart-pidfd-reaper");
            thread.setDaemon(true);
            thread.start();
        }

        boolean add(Child child, int fd) {
            children.put(fd, child);
            if (Native.PIDFD.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, event(fd)) == 0) return true;
            children.remove(fd, child);
            return false;
        }

        /** MOD never allocates: it cannot fail on a descriptor in the set. */
        boolean rearm(int fd) {
            return Native.PIDFD.epoll_ctl(epfd, EPOLL_CTL_MOD, fd, event(fd)) == 0;
        }

        /** Leaves the pidfd in the set with no event to report, until rearm. */
        boolean disarm(int fd) {
            return Native.PIDFD.epoll_ctl(epfd, EPOLL_CTL_MOD, fd, PACKED ? new int[] {EPOLLONESHOT, fd, 0}
                    : new int[] {EPOLLONESHOT, 0, fd, 0}) == 0;
        }

        /** Before the pidfd is closed (which takes it out of the epoll set). */
        void forget(Child child, int fd) {
            children.remove(fd, child);
        }

        private static int[] event(int fd) {
            int events = EPOLLIN | EPOLLONESHOT;
            return PACKED ? new int[] {events, fd, 0} : new int[] {events, 0, fd, 0};
        }

        @Override
        public void run() {
            Pointer events = Memory.allocateDirect(Native.RUNTIME, MAX_EVENTS * EVENT_SIZE, true);
            while (true) {
                int ready = Native.PIDFD.epoll_wait(epfd, events, MAX_EVENTS, -1);
                for (int i = 0; i < ready; i++) {
                    Child child = children.get(events.getInt((long) i * EVENT_SIZE + DATA));
                    if (child != null) child.ready();
                }
            }
        }
    }

    /**
     * The thread design, where pidfds are missing: a daemon thread reaps one
     * child. One is always started before the child is, so that a JVM out of
     * threads (RLIMIT_NPROC counts them) refuses the launch instead of leaving
     * a started command nobody will reap. A spare is kept started ahead, so
     * that a launch does not wait for a thread to start.
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
            if (started.isDone()) {
                cancelled = true;
            } else {
                child = started;
                UNREAPED.add(started);
            }
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
            if (WATCHER == null && SPARE.get() == null) {
                Reaper next = startNew();
                if (next != null) next.giveBack();
            }
            started.reap();
        }
    }

    /** The thread design's blocking reap. */
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
            UNREAPED.remove(this);
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
            if (armed) armed = !WATCHER.disarm(fd);
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
