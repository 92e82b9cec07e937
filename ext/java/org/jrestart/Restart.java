package org.jrestart;

import org.jrestart.core.history.RestartRecord;
import org.jrestart.core.hooks.RestartHooks;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The restart a RestartHook runs before: why (the reason given, or null),
 * how (the mechanism), the command (for IN_PLACE, the service's own command
 * line), and the deadline by which the hooks must be done.
 */
public final class Restart {
    private final String reason;
    private final RestartRecord.Mechanism mechanism;
    private final List<String> command;
    private final long deadlineMillis;
    private final long deadlineNanos;
    private final long timeoutNanos;

    @SuppressWarnings("unchecked")
    Restart(Map<String, Object> restart) {
        reason = (String) restart.get(RestartHooks.REASON);
        mechanism = RestartRecord.Mechanism.valueOf(((String) restart.get(RestartHooks.MECHANISM))
                .toUpperCase(Locale.ROOT));
        command = (List<String>) restart.get(RestartHooks.COMMAND);
        deadlineMillis = (Long) restart.get(RestartHooks.DEADLINE_MILLIS);
        deadlineNanos = (Long) restart.get(RestartHooks.DEADLINE_NANOS);
        timeoutNanos = (Long) restart.get(RestartHooks.TIMEOUT_NANOS);
    }

    public String reason() {
        return reason;
    }

    public RestartRecord.Mechanism mechanism() {
        return mechanism;
    }

    /** The command and its arguments (unmodifiable). */
    public List<String> command() {
        return command;
    }

    /** The deadline on the wall clock, in milliseconds since the epoch. */
    public long deadlineMillis() {
        return deadlineMillis;
    }

    /** The stop timeout the deadline came from. */
    public long timeout(TimeUnit unit) {
        return unit.convert(timeoutNanos, TimeUnit.NANOSECONDS);
    }

    /** The time left until the deadline, never negative, on the JVM's monotonic clock. */
    public long remaining(TimeUnit unit) {
        return unit.convert(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    @Override
    public String toString() {
        return "restart " + mechanism + " " + command + " reason=" + reason + " remaining="
                + remaining(TimeUnit.MILLISECONDS) + " ms";
    }
}
