package org.jrestart.core.stop;

import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Warnings;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What a manager's stop would run, before an exec in place replaces the JVM
 * (and, after a restart command, on the manager's SIGTERM: Termination):
 * the at_exit handlers and IO flush of every JRuby runtime in the process,
 * then the JVM's shutdown hooks, then the exec, same pid, all bounded by one
 * deadline. At the deadline the exec goes ahead anyway, and the names of
 * what still ran go into the restart record.
 *
 * Runtimes are found across class loaders (each jruby-rack runtime or
 * ScriptingContainer loads its own copy of this class): each registers a
 * parked daemon thread named RUNTIME_PREFIX + its name, which only
 * java.lang.Thread, not a class of this loader, is needed to find, wake and
 * join. The stop runs on that thread, so a handler that hangs holds nothing
 * but its own thread.
 */
public final class OrderlyStop {
    /** The name of each runtime's stop thread begins with this. */
    static final String RUNTIME_PREFIX = "jrestart stop: ";
    /** Set (process-wide) once the stop has begun: an interrupt without it is someone else's. */
    private static final String STOPPING = "org.jrestart.stopping";
    /** The stop timeout when nothing else says (systemd's DefaultTimeoutStopSec). */
    public static final double DEFAULT_TIMEOUT = 90;
    /** How often a wait looks whether a thread called exit. */
    private static final long POLL_MILLIS = 20;
    /** The longest wait for the JVM to start its shutdown hooks. */
    private static final long HOOKS_START_MILLIS = 5000;

    private OrderlyStop() {
    }

    /** What performs the exec once the stop is over; told what still ran. Returns only when the exec failed. */
    public interface Exec {
        void exec(List<String> stillRunning) throws JRestartException;
    }

    /** A registered runtime stop; cancel() when its runtime is torn down, so it never runs. */
    public static final class Registration {
        private final Thread thread;
        private volatile boolean cancelled;

        Registration(Thread thread) {
            this.thread = thread;
        }

        public void cancel() {
            cancelled = true;
            thread.interrupt();
        }
    }

    /**
     * Registers stop (one JRuby runtime's at_exit handlers and IO flush) under
     * name: it runs once, in the stop before an exec in place or on the
     * SIGTERM that follows a restart command, on a daemon thread of its own.
     */
    public static Registration register(String name, final Runnable stop) {
        final Registration[] self = new Registration[1];
        Thread thread = new Thread(new Runnable() {
            @Override
            public void run() {
                while (true) {
                    try {
                        Thread.sleep(Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        if (self[0].cancelled) return;
                        if (stopping()) break;
                    }
                }
                try {
                    stop.run();
                } catch (Throwable t) { // a handler's failure must not stop the restart
                    Warnings.warn("the stop of " + Thread.currentThread().getName().substring(RUNTIME_PREFIX.length())
                            + " failed, the restart goes on: " + t);
                }
            }
        }, RUNTIME_PREFIX + name);
        thread.setDaemon(true);
        self[0] = new Registration(thread);
        thread.start();
        return self[0];
    }

    private static boolean stopping() {
        return "on".equals(System.getProperty(STOPPING));
    }

    /** A deadline timeout seconds from now, in System.nanoTime() terms; infinite stays infinite. */
    public static long deadline(double timeout) {
        if (Double.isInfinite(timeout) || timeout * 1e9 >= Long.MAX_VALUE / 2) return Long.MAX_VALUE;
        return System.nanoTime() + (long) (timeout * 1e9);
    }

    private static long remainingMillis(long deadline) {
        if (deadline == Long.MAX_VALUE) return Long.MAX_VALUE;
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    /**
     * Runs every registered runtime's stop, each on its own thread, waiting
     * for them until deadline; returns the names of those still running then.
     */
    static List<String> stopRuntimes(long deadline) {
        System.setProperty(STOPPING, "on");
        List<Thread> stops = new ArrayList<Thread>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith(RUNTIME_PREFIX) && t.isAlive()) stops.add(t);
        }
        for (Thread t : stops) t.interrupt();
        List<String> running = new ArrayList<String>();
        for (Thread t : stops) {
            if (!join(t, deadline)) running.add(t.getName().substring(RUNTIME_PREFIX.length()));
        }
        return running;
    }

    /**
     * Waits for t until deadline; whether it ended, or called exit: the JVM
     * then holds it in Runtime.exit for good (the shutdown is under way), so
     * waiting longer gains nothing.
     */
    private static boolean join(Thread t, long deadline) {
        while (t.isAlive() && !exiting(t)) {
            long millis = remainingMillis(deadline);
            if (millis == 0) return false;
            try {
                t.join(Math.min(millis, POLL_MILLIS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !t.isAlive();
            }
        }
        return true;
    }

    /** Whether t is in Runtime.exit or halt (a hook or at_exit handler that called exit). */
    /**
     * Waits until the thread running the JVM's hooks has started them all,
     * which it does one after another before it joins the first: under load
     * a hook may start long after this one, and a look for hook threads made
     * before that misses it (the exec then went ahead while it ran). Gives up
     * after HOOKS_START_MILLIS, for a JDK whose shutdown looks otherwise.
     */
    private static void awaitHooksStarted(long deadline) {
        long giveUp = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HOOKS_START_MILLIS);
        while (remainingMillis(deadline) > 0 && System.nanoTime() - giveUp < 0) {
            for (StackTraceElement[] stack : Thread.getAllStackTraces().values()) {
                if (joiningHooks(stack)) return;
            }
            try {
                Thread.sleep(Math.min(POLL_MILLIS, Math.max(1, remainingMillis(deadline))));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Whether stack is ApplicationShutdownHooks.runHooks joining a hook: all of them have started. */
    static boolean joiningHooks(StackTraceElement[] stack) {
        for (int i = 0; i < stack.length; i++) {
            if (stack[i].getClassName().equals("java.lang.ApplicationShutdownHooks")
                    && stack[i].getMethodName().equals("runHooks")) {
                for (int j = 0; j < i; j++) {
                    if (stack[j].getClassName().equals("java.lang.Thread") && stack[j].getMethodName().startsWith("join")) {
                        return true;
                    }
                }
                return false;
            }
        }
        return false;
    }

    private static boolean exiting(Thread t) {
        for (StackTraceElement frame : t.getStackTrace()) {
            if (frame.getClassName().equals("java.lang.Shutdown")) return true;
        }
        return false;
    }

    /**
     * The stop, then exec, same pid; returns never (the exec replaces the
     * process, or a failed exec ends it with status 1 once the hooks ran:
     * half torn down, it must not go on serving). Throws only before
     * anything was stopped: when the JVM is already shutting down.
     *
     * The JVM's hooks run the only way they can be run: Runtime.exit. An own
     * hook, registered first, waits for the others (bounded by deadline) and
     * performs the exec from inside the shutdown, where the process is still
     * whole. Registered before the runtimes stop, it also catches an at_exit
     * handler or hook that calls exit: that shutdown ends in the exec too.
     * The runtimes are not torn down (only their at_exit handlers run and
     * their IO is flushed), so a hook written as a Ruby block still runs.
     */
    public static void stopAndExec(final long deadline, final Exec exec) throws JRestartException {
        stop(deadline, exec, 1, "jrestart exec in place");
    }

    /**
     * The stop, then exit with status 0 (an overlap restart's old JVM, once
     * the new one took over): last runs at the end of the shutdown, told
     * what still ran. Returns once the exit has begun, on a thread of its
     * own: the caller may be a thread of a JRuby runtime that the host tears
     * down in its shutdown hook (a webapp's destroy), which joins that
     * runtime's threads, and an exit waits for every hook. Throws only when
     * the JVM is already shutting down.
     */
    public static void stopAndExit(long deadline, Exec last) throws JRestartException {
        stop(deadline, last, 0, "jrestart overlap handed over");
    }

    private static void stop(final long deadline, final Exec exec, int status, String name) throws JRestartException {
        final Set<Thread> first = new HashSet<Thread>(Thread.getAllStackTraces().keySet());
        // The threads that are not hooks, as the hook finds them when it starts: the first look, or
        // the second (after the runtimes' stop) if the shutdown is not under way already (an at_exit
        // handler that called exit started it, and its hooks are running).
        final AtomicReference<Set<Thread>> known = new AtomicReference<Set<Thread>>(first);
        final Set<Thread> taken = new HashSet<Thread>();
        final List<String> runtimesRunning = new ArrayList<String>();
        Thread hook = new Thread(new Runnable() {
            @Override
            public void run() {
                Set<Thread> before = known.getAndSet(taken);
                List<String> running = new ArrayList<String>();
                synchronized (runtimesRunning) {
                    running.addAll(runtimesRunning);
                }
                running.addAll(waitForHooks(before, deadline));
                try {
                    exec.exec(running);
                } catch (JRestartException | RuntimeException e) {
                    Warnings.warn("the exec in place failed after the service was stopped: " + e.getMessage()
                            + "; the JVM exits with status 1 (its manager may start it again)");
                }
            }
        }, name);
        // Neither this hook nor the thread blocked in exit below may hold the host's class loader while the
        // host stops: Tomcat reports every thread of a webapp's loader still alive then as a memory leak.
        hook.setContextClassLoader(null);
        first.add(hook);
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException e) {
            throw JRestartException.state("the JVM is already shutting down: nothing to restart in place");
        }
        List<String> stopped = stopRuntimes(deadline);
        synchronized (runtimesRunning) {
            runtimesRunning.addAll(stopped);
        }
        Set<Thread> second = new HashSet<Thread>(Thread.getAllStackTraces().keySet());
        second.add(hook);
        if (!shuttingDown()) known.compareAndSet(first, second);
        if (status == 0) {
            Thread exit = new Thread(new Runnable() {
                @Override
                public void run() {
                    Runtime.getRuntime().exit(0);
                }
            }, "jrestart exit");
            exit.setContextClassLoader(null);
            exit.start();
            return;
        }
        // Never returns: this thread ends with the exec or the exit.
        Thread.currentThread().setContextClassLoader(null);
        Runtime.getRuntime().exit(status);
    }

    /** Whether the JVM's shutdown has begun: it then refuses new hooks. */
    private static boolean shuttingDown() {
        Thread probe = new Thread("jrestart shutdown probe");
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }

    /**
     * The JVM's shutdown hooks are the threads that started after before
     * (they start with this hook, all at once); waits for them until
     * deadline and returns the names of those still running. Daemon threads
     * are not waited for: hooks are created by the application's own
     * threads, while idle pools (JRuby's JIT, a Timer) may start one any time.
     */
    static List<String> waitForHooks(Set<Thread> before, long deadline) {
        awaitHooksStarted(deadline);
        Set<Thread> seen = new LinkedHashSet<Thread>();
        while (true) {
            try {
                // The hooks are started one after another; let the last one start.
                Thread.sleep(Math.min(POLL_MILLIS, Math.max(1, remainingMillis(deadline))));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            List<Thread> fresh = new ArrayList<Thread>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t == Thread.currentThread() || before.contains(t) || t.isDaemon() || !t.isAlive()) continue;
                seen.add(t);
                if (!exiting(t)) fresh.add(t);
            }
            if (fresh.isEmpty() || remainingMillis(deadline) == 0) break;
            for (Thread t : fresh) join(t, deadline);
        }
        List<String> running = new ArrayList<String>();
        for (Thread t : seen) {
            if (t.isAlive()) running.add("shutdown hook " + t.getName() + (exiting(t) ? " (called exit)" : ""));
        }
        return running;
    }
}
