package org.jrestart.core;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
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
final class Guard {
    private static final String HEADER = "jrestart restarts 1";

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
    @SuppressWarnings("try") // the lock is held for the block, not used in it
    static Guard claim(StateDirectory directory, String key, String name, RestartLimit limit, long now)
            throws JRestartException {
        Path file = directory.file(key, ".restarts");
        synchronized (Guard.class) {
            try (FileChannel lock = directory.lock(key)) {
                List<Long> recent = recent(file, now - limit.windowMillis(), now);
                refuseOneTooMany(file, name, limit, recent, now);
                recent.add(now);
                write(file, name, recent);
                return new Guard(directory, key, name, now);
            } catch (IOException e) {
                throw JRestartException.state("the restart-loop guard cannot count this restart in " + file + " ("
                        + StateDirectory.reason(e) + "); nothing was started. " + RestartLimit.VARIABLE
                        + "=off restarts without the guard");
            }
        }
    }

    /**
     * Throws RESTART_LOOP as claim would, and counts nothing: for a restart
     * that happens later (an exec in place after its delay), counted then.
     */
    @SuppressWarnings("try") // the lock is held for the block, not used in it
    static void check(StateDirectory directory, String key, String name, RestartLimit limit, long now)
            throws JRestartException {
        Path file = directory.file(key, ".restarts");
        synchronized (Guard.class) {
            try (FileChannel lock = directory.lock(key)) {
                refuseOneTooMany(file, name, limit, recent(file, now - limit.windowMillis(), now), now);
            } catch (IOException e) {
                throw JRestartException.state("the restart-loop guard cannot read the count of restarts in " + file
                        + " (" + StateDirectory.reason(e) + "); nothing was started. " + RestartLimit.VARIABLE
                        + "=off restarts without the guard");
            }
        }
    }

    private static void refuseOneTooMany(Path file, String name, RestartLimit limit, List<Long> recent, long now)
            throws JRestartException {
        if (recent.size() < limit.count()) return;
        long wait = recent.get(0) + limit.windowMillis() - now;
        throw JRestartException.restartLoop("restart refused: " + name + " was restarted " + recent.size()
                + " times within the last " + seconds(limit.windowMillis()) + " (the limit: " + limit
                + "); a restart loop? Nothing was started and the service goes on running. The restarts"
                + " are counted in " + file + "; the oldest leaves the window in " + seconds(wait)
                + ". To allow more, set JRestart.restart_limit = [count, seconds] or "
                + RestartLimit.VARIABLE + "=COUNT/SECONDS; to reset the count, remove that file");
    }

    /** Takes back the restart claim counted, when it did not happen. */
    @SuppressWarnings("try") // the lock is held for the block, not used in it
    void release() {
        Path file = directory.file(key, ".restarts");
        synchronized (Guard.class) {
            try (FileChannel lock = directory.lock(key)) {
                List<Long> recent = recent(file, Long.MIN_VALUE, Long.MAX_VALUE);
                if (recent.remove(Long.valueOf(at))) write(file, name, recent);
            } catch (IOException e) {
                // Counting one restart too many errs on the side that keeps the service up.
            }
        }
    }

    /**
     * The restart times in file within [since, now]; one in the future (the
     * clock was set back) counts as now. A file that cannot be read or parsed
     * is warned about and replaced with what could be read of it.
     */
    private static List<Long> recent(Path file, long since, long now) throws IOException {
        List<Long> times = new ArrayList<Long>();
        byte[] bytes;
        try {
            bytes = StateDirectory.read(file);
        } catch (IOException e) {
            Warnings.warn("the restart count " + file + " cannot be read (" + StateDirectory.reason(e)
                    + "); it is replaced, and counting starts again from this restart");
            return times;
        }
        if (bytes == null) return times;
        String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n");
        boolean corrupt = !lines[0].equals(HEADER);
        for (int i = 1; i < lines.length && !corrupt; i++) {
            if (lines[i].startsWith("service ")) continue;
            try {
                long t = Long.parseLong(lines[i].trim());
                if (t >= since) times.add(Math.min(t, now));
            } catch (NumberFormatException e) {
                corrupt = true;
            }
        }
        if (corrupt) {
            Warnings.warn("the restart count " + file + " is corrupt; it is replaced, keeping the " + times.size()
                    + " restart time(s) read before the damage");
        }
        return times;
    }

    private static void write(Path file, String name, List<Long> times) throws IOException {
        StringBuilder text = new StringBuilder(HEADER).append('\n');
        text.append("service ").append(name.replace('\n', ' ')).append('\n');
        for (long t : times) text.append(t).append('\n');
        StateDirectory.write(file, text.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static String seconds(long millis) {
        return String.format(Locale.ROOT, "%d s", (millis + 999) / 1000);
    }
}
