package org.jrestart.core.history;

import org.jrestart.core.posix.JRestartException;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * The restart-loop guard's limit: at most count restarts of one service
 * within a window of seconds, or OFF. systemd's start limit counts failed
 * starts, not clean restarts, so nothing else stops a plugin that decides at
 * every boot to restart again.
 */
public final class RestartLimit {
    /** The default: 5 restarts within 15 minutes. */
    public static final RestartLimit DEFAULT = new RestartLimit(5, 900);
    /** No guard: restarts are neither counted nor refused. */
    public static final RestartLimit OFF = new RestartLimit(0, 0);
    /** The environment variable an operator sets without code: COUNT/SECONDS or off. */
    public static final String VARIABLE = "JRESTART_LIMIT";

    private final int count;
    private final double seconds;

    private RestartLimit(int count, double seconds) {
        this.count = count;
        this.seconds = seconds;
    }

    /** At most count (>= 1) restarts within seconds (> 0, finite). */
    public static RestartLimit of(long count, double seconds) throws JRestartException {
        if (count < 1 || count > Integer.MAX_VALUE) {
            throw JRestartException.invalid("the restart limit's count must be an Integer from 1 to "
                    + Integer.MAX_VALUE + ", got " + count);
        }
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw JRestartException.invalid("the restart limit's window must be a finite number of seconds > 0, got "
                    + seconds);
        }
        return new RestartLimit((int) count, seconds);
    }

    /**
     * The limit in force: setting when one was made (null: none), else
     * JRESTART_LIMIT from environment, else DEFAULT.
     */
    public static RestartLimit effective(RestartLimit setting, Map<String, byte[]> environment) throws JRestartException {
        if (setting != null) return setting;
        byte[] value = environment.get(VARIABLE);
        if (value == null) return DEFAULT;
        String text = new String(value, StandardCharsets.UTF_8).trim();
        if (text.equalsIgnoreCase("off")) return OFF;
        int slash = text.indexOf('/');
        try {
            if (slash > 0) return of(Long.parseLong(text.substring(0, slash).trim()),
                    Double.parseDouble(text.substring(slash + 1).trim()));
        } catch (NumberFormatException | JRestartException e) {
            // Said below, with the variable's name and what it should look like.
        }
        throw JRestartException.invalid(VARIABLE + "=\"" + text + "\" is not COUNT/SECONDS (e.g. 5/900, at most 5"
                + " restarts within 900 s) or off");
    }

    public boolean off() {
        return count == 0;
    }

    /** Restarts allowed within the window; 0 when OFF. */
    public int count() {
        return count;
    }

    /** The window in seconds; 0 when OFF. */
    public double seconds() {
        return seconds;
    }

    long windowMillis() {
        return (long) Math.ceil(seconds * 1000);
    }

    @Override
    public String toString() {
        if (off()) return "off";
        return count + " in " + BigDecimal.valueOf(seconds).stripTrailingZeros().toPlainString() + " s";
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof RestartLimit && ((RestartLimit) other).count == count
                && ((RestartLimit) other).seconds == seconds;
    }

    @Override
    public int hashCode() {
        return String.format(Locale.ROOT, "%d/%s", count, seconds).hashCode();
    }
}
