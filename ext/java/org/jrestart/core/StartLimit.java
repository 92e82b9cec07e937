package org.jrestart.core;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * systemd refuses to start a unit started StartLimitBurst= times within
 * StartLimitIntervalSec= ("Start request repeated too quickly") and leaves it
 * failed: a restart then takes the service down for good. Before a restart
 * through systemd, the unit's limit is read (systemctl show, no privilege
 * needed) and the starts this gem caused are counted in a file the next JVM
 * reads; a restart that would hit the limit is refused while the service still
 * runs.
 */
final class StartLimit {
    private static final Pattern SPAN = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(us|ms|s|min|h|d|w|month|y)?");
    private static final long SHOW_TIMEOUT_MS = 5000;

    final String unit;
    final boolean user;
    final int burst;
    final long intervalMicros;
    private final File record;

    private StartLimit(String unit, boolean user, int burst, long intervalMicros) {
        this.unit = unit;
        this.user = user;
        this.burst = burst;
        this.intervalMicros = intervalMicros;
        this.record = new File(directory(user), unit.replace('/', '_') + ".starts");
    }

    /** The limit of the unit (systemctl [--user] show); null when it has none or it cannot be read. */
    static StartLimit of(String unit, boolean user) {
        List<String> command = new ArrayList<String>();
        command.add("systemctl");
        if (user) command.add("--user");
        command.add("show");
        command.add("-p");
        command.add("StartLimitBurst");
        command.add("-p");
        command.add("StartLimitIntervalUSec");
        command.add(unit);
        String out;
        try {
            // A short synchronous query: ProcessBuilder closes the JVM's descriptors in its child itself.
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            out = read(process.getInputStream());
            if (!process.waitFor(SHOW_TIMEOUT_MS, TimeUnit.MILLISECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                return null;
            }
        } catch (IOException | InterruptedException e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            return null;
        }
        int burst = 0;
        long interval = 0;
        for (String line : out.split("\n")) {
            if (line.startsWith("StartLimitBurst=")) burst = parseInt(line.substring("StartLimitBurst=".length()));
            if (line.startsWith("StartLimitIntervalUSec=")) {
                interval = micros(line.substring("StartLimitIntervalUSec=".length()).trim());
            }
        }
        return burst > 0 && interval > 0 ? new StartLimit(unit, user, burst, interval) : null;
    }

    /**
     * Throws when one more start would hit the limit; records the start
     * otherwise. The service's own current start counts too: it is assumed
     * to fall within the interval, so at most burst - 1 restarts pass.
     */
    void claim() throws JRestartException {
        long now = Notify.monotonicMicros();
        // The lock, released when the file closes, makes concurrent restarts of one unit count right.
        try (RandomAccessFile file = open()) {
            file.getChannel().lock();
            List<Long> recent = recent(file, now);
            if (recent.size() + 2 > burst) {
                long wait = recent.get(0) + intervalMicros - now;
                throw JRestartException.state("restart refused by the start limit of " + unit + ": StartLimitBurst="
                        + burst + " in StartLimitIntervalSec=" + seconds(intervalMicros) + "; it has been started "
                        + (recent.size() + 1) + " times in that window (the restarts recorded in " + record + ", and"
                        + " this run), and systemd would refuse the next start and leave it failed. The service goes"
                        + " on running; restart again in " + seconds(Math.max(wait, 0)) + ", or raise the limit");
            }
            recent.add(now);
            write(file, recent);
        } catch (IOException e) {
            throw JRestartException.state("the start record " + record + " cannot be used: " + e.getMessage());
        }
    }

    /** Takes back the start claim() recorded, when the restart did not happen after all. */
    void release() {
        try (RandomAccessFile file = open()) {
            file.getChannel().lock();
            List<Long> recent = recent(file, Notify.monotonicMicros());
            if (!recent.isEmpty()) recent.remove(recent.size() - 1);
            write(file, recent);
        } catch (IOException e) {
            // Counting one start too many errs on the side that keeps the service up.
        }
    }

    private RandomAccessFile open() throws IOException {
        File dir = record.getParentFile();
        if (!dir.isDirectory() && !dir.mkdirs() && !dir.isDirectory()) throw new IOException("cannot create " + dir);
        return new RandomAccessFile(record, "rw");
    }

    private List<Long> recent(RandomAccessFile file, long now) throws IOException {
        List<Long> times = new ArrayList<Long>();
        file.seek(0);
        String line;
        while ((line = file.readLine()) != null) {
            try {
                long t = Long.parseLong(line.trim());
                // Monotonic time starts again at boot, as systemd's own count does.
                if (t <= now && now - t < intervalMicros) times.add(t);
            } catch (NumberFormatException ignored) {
                // A torn or foreign line is not a start.
            }
        }
        return times;
    }

    private static void write(RandomAccessFile file, List<Long> times) throws IOException {
        StringBuilder text = new StringBuilder();
        for (long t : times) text.append(t).append('\n');
        byte[] bytes = text.toString().getBytes(StandardCharsets.US_ASCII);
        file.setLength(0);
        file.seek(0);
        file.write(bytes);
    }

    /** /run/jrestart for root (a tmpfs, reset at boot like systemd's count), else $XDG_RUNTIME_DIR/jrestart. */
    private static File directory(boolean user) {
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        if (user && runtime != null) return new File(runtime, "jrestart");
        if (new File("/run").canWrite()) return new File("/run/jrestart");
        return new File(runtime != null ? runtime : System.getProperty("java.io.tmpdir"), "jrestart");
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
