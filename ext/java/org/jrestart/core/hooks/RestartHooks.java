package org.jrestart.core.hooks;

import org.jrestart.core.posix.JRestartException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The restart hooks of this process, in registration order: each runs before
 * a restart starts or execs anything, so that a service can stop accepting
 * and drain its in-flight work. One list per process, not per class loader
 * (each JRuby runtime and the Java facade load this class through their own):
 * it is kept in the system properties, and a hook is held as a JDK
 * Function, the one type every loader shares. A hook takes the restart as a
 * Map (RestartHooks.REASON and the other keys) and returns null when done, or
 * why it refuses the restart (its error, as text); its toString() names it
 * (where it was registered).
 */
public final class RestartHooks {
    private static final String HOOKS = "org.jrestart.hooks";
    /** Keys of the Map a hook gets; values are JDK types only, for the same reason. */
    public static final String REASON = "reason";
    public static final String MECHANISM = "mechanism";
    public static final String COMMAND = "command";
    /** Wall clock, milliseconds since the epoch (Long). */
    public static final String DEADLINE_MILLIS = "deadlineMillis";
    /** System.nanoTime() at the deadline (Long): one clock for the whole JVM. */
    public static final String DEADLINE_NANOS = "deadlineNanos";
    public static final String TIMEOUT_NANOS = "timeoutNanos";

    private RestartHooks() {
    }

    /** Adds hook at the end of the list; the same hook added twice runs twice. */
    public static void add(Function<Map<String, Object>, String> hook) {
        list().add(hook);
    }

    /** Takes hook out of the list; whether it was there. Each registration adds a hook object of its own. */
    public static boolean remove(Object hook) {
        return list().remove(hook);
    }

    /** The hooks, in the order they run. */
    public static List<Object> all() {
        return Collections.unmodifiableList(new ArrayList<Object>(list()));
    }

    /**
     * Runs every hook in order, each on a thread of its own, until the
     * deadline (restart's DEADLINE_NANOS). A hook that returns a refusal or
     * throws vetoes the restart (VETOED, naming the hook and its error) and
     * the later hooks do not run. At the deadline the hook still running is
     * abandoned (its daemon thread goes on) and the later ones do not start:
     * the restart goes on, and this returns their names, the running one
     * first. An empty list: every hook finished in time.
     */
    public static List<String> run(Map<String, Object> restart) throws JRestartException {
        long deadline = (Long) restart.get(DEADLINE_NANOS);
        List<Object> hooks = new ArrayList<Object>(list());
        for (int i = 0; i < hooks.size(); i++) {
            Object hook = hooks.get(i);
            Outcome outcome = new Outcome();
            Thread thread = new Thread(runner(hook, restart, outcome), "jrestart-restart-hook-" + (i + 1));
            thread.setDaemon(true);
            thread.start();
            long left = deadline - System.nanoTime();
            try {
                if (left > 0) TimeUnit.NANOSECONDS.timedJoin(thread, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw JRestartException.state("interrupted while the restart hook registered at " + hook + " ran; nothing was"
                        + " started");
            }
            if (thread.isAlive()) {
                List<String> late = new ArrayList<String>();
                for (Object running : hooks.subList(i, hooks.size())) late.add(running.toString());
                return late;
            }
            if (outcome.refusal != null) {
                throw JRestartException.vetoed("the restart was vetoed by the restart hook registered at " + hook + ": "
                        + outcome.refusal + "; nothing was started");
            }
        }
        return Collections.emptyList();
    }

    /** What one hook's thread reports: its refusal, or null. */
    private static final class Outcome {
        volatile String refusal;
    }

    @SuppressWarnings("unchecked")
    private static Runnable runner(final Object hook, final Map<String, Object> restart, final Outcome outcome) {
        return new Runnable() {
            @Override
            public void run() {
                try {
                    outcome.refusal = ((Function<Map<String, Object>, String>) hook).apply(restart);
                } catch (Throwable t) {
                    // Whatever a hook throws refuses the restart; nothing it throws ends the JVM.
                    outcome.refusal = t.getClass().getName() + ": " + t.getMessage();
                }
            }
        };
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list() {
        Properties properties = System.getProperties();
        Object hooks = properties.get(HOOKS);
        if (hooks == null) {
            Object fresh = new CopyOnWriteArrayList<Object>();
            hooks = properties.putIfAbsent(HOOKS, fresh);
            if (hooks == null) hooks = fresh;
        }
        return (List<Object>) hooks;
    }
}
