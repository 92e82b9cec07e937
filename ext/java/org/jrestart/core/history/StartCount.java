package org.jrestart.core.history;

import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Proc;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The starts of one systemd unit that this gem caused, counted against the
 * unit's start limit (StartLimitBurst= in StartLimitIntervalSec=, as systemd
 * says it) in a file the next JVM reads, through the state files' one
 * hardened primitive: a restart that would hit the limit is refused while the
 * service still runs, since systemd would leave the unit failed. Monotonic
 * times, as systemd counts; the starts of another boot do not count.
 */
public final class StartCount {
    private static final String HEADER = "jrestart starts 1";
    private static final String SUFFIX = ".starts";

    private final String unit;
    private final boolean user;
    private final int burst;
    private final long intervalMicros;
    private final Map<String, String> environment;
    private StateDirectory directory;
    private long claimed = -1;

    /** environment: where the counts go (XDG_RUNTIME_DIR, then the state directory's variables). */
    public StartCount(String unit, boolean user, int burst, long intervalMicros, Map<String, String> environment) {
        this.unit = unit;
        this.user = user;
        this.burst = burst;
        this.intervalMicros = intervalMicros;
        this.environment = environment;
    }

    /**
     * Throws when one more start at now (monotonic microseconds) would hit the
     * limit; records the start otherwise. The service's own current start
     * counts too: it is assumed to fall within the interval, so at most
     * burst - 1 restarts pass.
     */
    public void claim(final long now) throws JRestartException {
        directory = StateDirectory.runtime(user, environment);
        final Path file = directory.file(key(), SUFFIX);
        try {
            directory.times(key(), SUFFIX, HEADER, scope(), now - intervalMicros + 1, now,
                    new StateDirectory.Change<Void>() {
                        @Override
                        public Void apply(List<Long> recent) throws JRestartException {
                            if (recent.size() + 2 > burst) throw refusal(file, recent, now);
                            recent.add(now);
                            claimed = now;
                            return null;
                        }
                    });
        } catch (IOException e) {
            throw JRestartException.state("the start count " + file + " cannot be used (" + StateDirectory.reason(e)
                    + "); nothing was started");
        }
    }

    private JRestartException refusal(Path file, List<Long> recent, long now) {
        // With StartLimitBurst=1 the service's own start used the only one: no restart passes in any window.
        String when = recent.isEmpty() ? "raise the limit (StartLimitBurst=" + burst + " leaves no start for a restart)"
                : "restart again in " + seconds(Math.max(recent.get(0) + intervalMicros - now, 0)) + ", or raise the limit";
        return JRestartException.state("restart refused by the start limit of " + unit + ": StartLimitBurst="
                + burst + " in StartLimitIntervalSec=" + seconds(intervalMicros) + "; it has been started "
                + (recent.size() + 1) + " times in that window (the restarts recorded in " + file + ", and"
                + " this run), and systemd would refuse the next start and leave it failed. The service goes"
                + " on running; " + when);
    }

    /** Takes back the start claim() recorded, and only that one, when the restart did not happen after all. */
    public void release() {
        if (claimed < 0) return;
        long mine = claimed;
        claimed = -1;
        try {
            directory.forget(key(), SUFFIX, HEADER, scope(), mine);
        } catch (IOException | JRestartException e) {
            // Counting one start too many errs on the side that keeps the service up.
        }
    }

    private String key() {
        return "start limit of " + (user ? "user unit " : "unit ") + unit;
    }

    /** Monotonic time starts again at boot, as systemd's own count does: the starts of another boot do not count. */
    private static String scope() {
        String boot = Proc.read("/proc/sys/kernel/random/boot_id");
        return "boot " + (boot == null ? "unknown" : boot.trim());
    }

    private static String seconds(long micros) {
        return String.format(Locale.ROOT, "%.1fs", micros / 1e6);
    }
}
