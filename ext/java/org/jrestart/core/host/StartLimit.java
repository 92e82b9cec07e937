package org.jrestart.core.host;

import org.jrestart.core.posix.JRestartException;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * systemd refuses to start a unit started StartLimitBurst= times within
 * StartLimitIntervalSec= ("Start request repeated too quickly") and leaves it
 * failed: a restart then takes the service down for good. Before a restart
 * through systemd, the unit's limit is read (systemctl show, no privilege
 * needed); the starts are counted against it where the restart state lives.
 */
public final class StartLimit {
    private static final Pattern SPAN = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(us|ms|s|min|h|d|w|month|y)?");

    public final String unit;
    public final boolean user;
    public final int burst;
    public final long intervalMicros;

    private StartLimit(String unit, boolean user, int burst, long intervalMicros) {
        this.unit = unit;
        this.user = user;
        this.burst = burst;
        this.intervalMicros = intervalMicros;
    }

    /** The limit of the unit (systemctl [--user] show, within 5 s); null when it has none or it cannot be read. */
    public static StartLimit of(String unit, boolean user) {
        String out;
        try {
            out = Systemctl.show(unit, user, false, "StartLimitBurst", "StartLimitIntervalUSec");
        } catch (JRestartException e) {
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

    private static int parseInt(String text) {
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
