package org.jrestart.core.launch;

import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Linux;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.Support;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sees that every started command is reaped as soon as it exits, whether or
 * not anyone waits for it. With pidfds (Linux 5.4+, glibc 2.36+) one background
 * thread reaps every child nobody waits for; without them each child has a
 * reaper thread of its own. A launch reserves its means of reaping before it
 * starts anything.
 */
public final class Reaping {
    /** Carries the pids of unreaped children across reexec!, to be reaped by the new image. */
    public static final String HAND_OVER = "JRESTART_CHILDREN";

    // null when pidfds are unusable here: then every child has a reaper thread.
    static final Watcher WATCHER = Watcher.open();
    static final Set<Child> UNREAPED = ConcurrentHashMap.newKeySet();

    private Reaping() {
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
        StringBuilder pids = new StringBuilder();
        for (Child child : UNREAPED) {
            if (pids.length() > 0) pids.append(',');
            pids.append(child.pid);
        }
        return LaunchRequest.setting(env, HAND_OVER, pids.length() > 0 ? pids.toString() : null);
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

    /**
     * The one background thread of the pidfd design: blocks in epoll_wait over
     * the pidfds of the children nobody waits for. Adding a child is an
     * epoll_ctl from the launching thread; nothing needs to wake this one.
     */
    static final class Watcher implements Runnable {
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
            // Linux 5.3 has pidfd_open but no waitid(Child.P_PIDFD) (EINVAL); ours is not our child (ECHILD).
            int rc = Native.PIDFD.waitid(Child.P_PIDFD, self, new int[Child.SIGINFO_INTS], Child.WEXITED | Child.WNOHANG);
            boolean usable = rc == -1 && Native.errno() == Native.ECHILD;
            Native.LIBC.close(self);
            if (!usable) return null;
            int epfd = Native.PIDFD.epoll_create1(EPOLL_CLOEXEC);
            return epfd < 0 ? null : new Watcher(epfd);
        }

        void start() {
            Thread thread = new Thread(this, "jrestart-pidfd-reaper");
            thread.setDaemon(true);
            // It lives as long as the JVM: it must not pin the loader of the code that started it (a webapp's).
            thread.setContextClassLoader(null);
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
}
