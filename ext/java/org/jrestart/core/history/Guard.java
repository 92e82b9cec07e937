package org.jrestart.core.history;

import org.jrestart.core.posix.JRestartException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The restart-loop guard: counts one service's restarts in KEY.restarts in
 * the state directory, so that the count outlives the JVM it restarts, and
 * refuses one restart too many while the service still runs. Wall-clock
 * times, since the file outlives reboots too. A window without restarts
 * empties the count: a service that stays up longer than the window starts
 * afresh.
 */
public final class Guard {
    private static final String HEADER = "jrestart restarts 1";
    private static final String SUFFIX = ".restarts";

    private final StateDirectory directory;
    private final String key;
    private final String name;
    private final long at;

    private Guard(StateDirectory directory, String key, String name, long at) {
        this.directory = directory;
        this.key = key;
        this.name = name;
        this.at = at;
    }

    /**
     * Counts this restart of service (key names it in the directory, name for
     * people) at now, or throws RESTART_LOOP when limit restarts happened
     * within its window already. The returned Guard takes it back (release)
     * if the restart does not happen after all.
     */
    public static Guard claim(StateDirectory directory, String key, String name, RestartLimit limit, long now)
            throws JRestartException {
        count(directory, key, name, limit, now, true, "cannot count this restart in ");
        return new Guard(directory, key, name, now);
    }

    /**
     * Throws RESTART_LOOP as claim would, and counts nothing: for a restart
     * that happens later (an exec in place after its delay), counted then.
     */
    public static void check(StateDirectory directory, String key, String name, RestartLimit limit, long now)
            throws JRestartException {
        count(directory, key, name, limit, now, false, "cannot read the count of restarts in ");
    }

    /** Refuses one restart too many at now; with add, counts this one. */
    private static void count(StateDirectory directory, String key, final String name, final RestartLimit limit,
                              final long now, final boolean add, String failing) throws JRestartException {
        final Path file = directory.file(key, SUFFIX);
        try {
            directory.times(key, SUFFIX, HEADER, scope(name), now - limit.windowMillis(), now,
                    new StateDirectory.Change<Void>() {
                        @Override
                        public Void apply(List<Long> recent) throws JRestartException {
                            if (recent.size() >= limit.count()) throw refusal(file, name, limit, recent, now);
                            if (add) recent.add(now);
                            return null;
                        }
                    });
        } catch (IOException e) {
            throw JRestartException.state("the restart-loop guard " + failing + file + " (" + StateDirectory.reason(e)
                    + "); nothing was started. " + RestartLimit.VARIABLE + "=off restarts without the guard");
        }
    }

    private static JRestartException refusal(Path file, String name, RestartLimit limit, List<Long> recent, long now) {
        long wait = recent.get(0) + limit.windowMillis() - now;
        return JRestartException.restartLoop("restart refused: " + name + " was restarted " + recent.size()
                + " times within the last " + seconds(limit.windowMillis()) + " (the limit: " + limit
                + "); a restart loop? Nothing was started and the service goes on running. The restarts"
                + " are counted in " + file + "; the oldest leaves the window in " + seconds(wait)
                + ". To allow more, set JRestart.restart_limit = [count, seconds] or "
                + RestartLimit.VARIABLE + "=COUNT/SECONDS; to reset the count, remove that file");
    }

    /** Takes back the restart claim counted, when it did not happen. */
    public void release() {
        try {
            directory.forget(key, SUFFIX, HEADER, scope(name), at);
        } catch (IOException | JRestartException e) {
            // Counting one restart too many errs on the side that keeps the service up.
        }
    }

    private static String scope(String name) {
        return "service " + name;
    }

    private static String seconds(long millis) {
        return String.format(Locale.ROOT, "%d s", (millis + 999) / 1000);
    }
}
