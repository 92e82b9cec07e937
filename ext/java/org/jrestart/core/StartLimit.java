package org.jrestart.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * systemd refuses to start a unit started StartLimitBurst= times within
 * StartLimitIntervalSec= ("Start request repeated too quickly") and leaves it
 * failed: a restart then takes the service down for good. Before a restart
 * through systemd, the unit's limit is read (systemctl show, no privilege
 * needed) and the starts this gem caused are counted in a file the next JVM
 * reads (through the state files' one hardened primitive); a restart that
 * would hit the limit is refused while the service still runs.
 */
final class StartLimit {
    private static final Pattern SPAN = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(us|ms|s|min|h|d|w|month|y)?");
    private static final long SHOW_TIMEOUT_MS = 5000;
    private static final String HEADER = "jrestart starts 1";
    private static final String SUFFIX = ".starts";

    final String unit;
    final boolean user;
    final int burst;
    final long intervalMicros;
    private final Map<String, String> environment;
    private StateDirectory directory;
    private long claimed = -1;

    private StartLimit(String unit, boolean user, int burst, long intervalMicros, Map<String, String> environment) {
        this.unit = unit;
        this.user = user;
        this.burst = burst;
        this.intervalMicros = intervalMicros;
        this.environment = environment;
    }

    /**
     * The limit of the unit (systemctl [--user] show), within 5 s; null when
     * it has none or it cannot be read. environment: where the counts go
     * (XDG_RUNTIME_DIR, then the state directory's variables).
     */
    static StartLimit of(String unit, boolean user, Map<String, String> environment) {
        List<String> command = new ArrayList<String>();
        command.add("systemctl");
        if (user) command.add("--user");
        command.add("show");
        command.add("-p");
        command.add("StartLimitBurst");
        command.add("-p");
        command.add("StartLimitIntervalUSec");
        command.add(unit);
        String out = show(command);
        if (out == null) return null;
        int burst = 0;
        long interval = 0;
        for (String line : out.split("\n")) {
            if (line.startsWith("StartLimitBurst=")) burst = parseInt(line.substring("StartLimitBurst=".length()));
            if (line.startsWith("StartLimitIntervalUSec=")) {
                interval = micros(line.substring("StartLimitIntervalUSec=".length()).trim());
            }
        }
        return burst > 0 && interval > 0 ? new StartLimit(unit, user, burst, interval, environment) : null;
    }

    /**
     * command's output, or null when it fails or takes longer than the
     * timeout: the output is read on a thread of its own, so a systemctl that
     * hangs with its stdout open cannot hold the restart past the timeout.
     */
    private static String show(List<String> command) {
        final Process process;
        try {
            // A short synchronous query: ProcessBuilder closes the JVM's descriptors in its child itself.
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
        } catch (IOException e) {
            return null;
        }
        FutureTask<String> output = new FutureTask<String>(new Callable<String>() {
            @Override
            public String call() throws IOException {
                return read(process.getInputStream());
            }
        });
        Thread reader = new Thread(output, "jrestart systemctl show");
        reader.setDaemon(true);
        reader.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SHOW_TIMEOUT_MS);
            if (!process.waitFor(SHOW_TIMEOUT_MS, TimeUnit.MILLISECONDS) || process.exitValue() != 0) return null;
            return output.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (ExecutionException | TimeoutException e) {
            return null;
        } finally {
            // A daemon reader still blocked (a child of systemctl holds the pipe) ends with the pipe.
            process.destroyForcibly();
        }
    }

    /**
     * Throws when one more start would hit the limit; records the start
     * otherwise. The service's own current start counts too: it is assumed
     * to fall within the interval, so at most burst - 1 restarts pass.
     */
    void claim() throws JRestartException {
        final long now = Notify.monotonicMicros();
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
    void release() {
        if (claimed < 0) return;
        final long mine = claimed;
        claimed = -1;
        try {
            directory.times(key(), SUFFIX, HEADER, scope(), Long.MIN_VALUE, Long.MAX_VALUE,
                    new StateDirectory.Change<Void>() {
                        @Override
                        public Void apply(List<Long> recent) {
                            recent.remove(Long.valueOf(mine));
                            return null;
                        }
                    });
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

    /** A systemd timespan as systemctl show writes it ("10s", "1min 30s", "infinity") in microseconds. */
    static long micros(String span) {
        if (span.isEmpty() || span.equals("infinity")) return 0;
        long total = 0;
        Matcher m = SPAN.matcher(span);
        while (m.find()) {
            double value = Double.parseDouble(m.group(1));
            String unit = m.group(2) == null ? "us" : m.group(2);
            long factor;
            switch (unit) {
                case "us": factor = 1; break;
                case "ms": factor = 1000; break;
                case "s": factor = 1_000_000L; break;
                case "min": factor = 60_000_000L; break;
                case "h": factor = 3_600_000_000L; break;
                case "d": factor = 86_400_000_000L; break;
                case "w": factor = 604_800_000_000L; break;
                case "month": factor = 2_629_800_000_000L; break;
                default: factor = 31_557_600_000_000L; break;
            }
            total += (long) (value * factor);
        }
        return total;
    }

    private static String seconds(long micros) {
        return String.format(Locale.ROOT, "%.1fs", micros / 1e6);
    }

    private static int parseInt(String text) {
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String read(InputStream in) throws IOException {
        StringBuilder text = new StringBuilder();
        byte[] buffer = new byte[4096];
        int n;
        while ((n = in.read(buffer)) > 0) text.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
        return text.toString();
    }
}
