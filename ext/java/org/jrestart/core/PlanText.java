package org.jrestart.core;

import org.jrestart.core.history.RestartLimit;
import org.jrestart.core.launch.FailFast;
import org.jrestart.core.launch.Strategy;
import org.jrestart.core.listen.Listener;
import org.jrestart.core.posix.Descriptor;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Native;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A Plan in words: the table JRestart.plan prints, and the phrases the bindings show. */
final class PlanText {
    private PlanText() {
    }

    /** What stdout and stderr go to, as the table shows it. */
    static String stdout(Plan plan) {
        if (plan.strategy == Strategy.EXEC) return "unchanged";
        if (plan.strategy == Strategy.OVERLAP) return "this JVM's, through it until the new JVM is ready, then its own";
        if (plan.log == null && plan.failFast && plan.managerClient()) return "a pipe restart reads while it watches, then drains";
        return plan.log == null ? "/dev/null" : Native.text(plan.log) + " (appended)";
    }

    /** How the command was chosen, in words. */
    static String chosenBy(Plan plan) {
        switch (plan.source) {
            case SETTING: return "JRestart.command";
            case ENVIRONMENT: return Plan.COMMAND_VARIABLE;
            case DETECTED: return "detected " + plan.manager.name + " (" + String.join("; ", plan.manager.evidence) + ")";
            case SELF: return "this process's own command line";
            default: return "the arguments";
        }
    }

    /** The plan as a table for people, descriptors included (they are listed now if they were not yet). */
    static String describe(Plan plan) throws JRestartException {
        StringBuilder text = new StringBuilder("JRestart plan (nothing has been done)\n");
        List<String> words = new ArrayList<String>();
        for (byte[] word : plan.command) words.add(Native.text(word));
        row(text, "command", String.join(" ", words));
        row(text, "path", Native.text(plan.path));
        row(text, "chosen by", chosenBy(plan));
        if (plan.inPlace != null) row(text, "in place", plan.inPlace);
        if (plan.overlap != null) {
            row(text, "overlap", "the new JVM starts beside this one and has " + Plan.seconds(plan.readyTimeout())
                    + " s (ready_timeout:) to call JRestart.ready!; then this JVM runs its restart hooks, stops in"
                    + " order and exits 0. One that exits or is late is stopped (TERM, then KILL), this JVM goes on"
                    + " serving, and restart! raises with its output");
            row(text, "tracked by", plan.overlap);
        }
        if (plan.escape != null) row(text, "escape", plan.escape);
        if (plan.limitedUnit != null) {
            row(text, "start limit", "of " + plan.limitedUnit.service + ", read with systemctl show when it restarts: a"
                    + " restart that would hit it is refused");
        }
        if (plan.restarts()) {
            row(text, "guard", plan.limit.off() ? "off (" + RestartLimit.VARIABLE + "=off or JRestart.restart_limit = nil)"
                    : "at most " + plan.limit + " of " + plan.serviceName() + ", counted in the state directory when it"
                    + " restarts; one more is refused");
            row(text, "record", "written to the state directory before the " + (plan.strategy == Strategy.OVERLAP
                    ? "new JVM starts" : plan.strategy == Strategy.EXEC
                    ? plan.delay > 0 ? "exec, when the delay is over (the guard refuses at once when the limit is reached)"
                    : "exec"
                    : plan.delay > 0 ? "command starts; the delay's /bin/sh waits for the command and adds its exit status"
                    : "command starts, with its exit status if it ends while restart watches it")
                    + ", for JRestart.last_restart in the new JVM");
        }
        if (plan.failFast) {
            row(text, "checked", "restart waits up to " + FailFast.WINDOW_MS + " ms for the command: one that fails"
                    + " at once raises, with its status and output");
        }
        if (plan.restarts() && plan.stopTimeout() != null) row(text, "stop", stopText(plan));
        row(text, "strategy", strategyText(plan));
        row(text, "cwd", plan.chdir == null ? "unchanged" : Native.text(plan.chdir));
        row(text, "stdin", plan.strategy == Strategy.EXEC ? "unchanged" : plan.strategy == Strategy.OVERLAP
                ? plan.inheritedChannel() != null ? "the inherited channel" : "this JVM's" : "/dev/null");
        row(text, "stdout", stdout(plan));
        row(text, "stderr", stdout(plan));
        row(text, "delay", plan.delay == 0 ? "none" : Plan.seconds(plan.delay) + " s");
        row(text, "close", plan.close.name().toLowerCase(Locale.ROOT));
        if (plan.unsetenvOthers) {
            row(text, "env", "only " + envText(plan) + " (unsetenv_others: nothing of ENV)");
        } else if (!plan.env.isEmpty()) {
            row(text, "env", "ENV with " + envText(plan) + " over it");
        }
        if (!plan.listeners().isEmpty()) {
            List<String> listeners = new ArrayList<String>();
            for (Listener listener : plan.listeners()) listeners.add(listener.toString().replace(", adopted", ""));
            row(text, "listeners", "handed to the new JVM: " + String.join("; ", listeners));
        }
        if (plan.inheritedChannel() != null) {
            row(text, "inherited channel", plan.inheritedChannel().toString().replace(", adopted", "")
                    + ", on the new JVM's fd 0 (System.inheritedChannel())");
        }
        text.append("  descriptors:\n");
        text.append(String.format(Locale.ROOT, "    %4s  %-16s %-36s %-34s %s", "fd", "type", "target", "socket",
                "in the child"));
        for (Plan.Entry entry : plan.descriptors()) {
            Descriptor d = entry.descriptor;
            text.append('\n').append(String.format(Locale.ROOT, "    %4d  %-16s %-36s %-34s %s", d.fd, d.type.label(),
                    tail(d.target, 36), socket(d), fateText(plan, entry)));
        }
        return text.toString();
    }


    private static String strategyText(Plan plan) {
        String signals = "every signal default, none blocked";
        switch (plan.strategy) {
            case FORK: return "fork + execve: new session (setsid), " + signals;
            case EXEC: return "execve in place: same pid and session, " + signals;
            case OVERLAP: return "posix_spawn beside this JVM: same session, cwd and listeners, " + signals;
            default: return "posix_spawn: new session (setsid), " + signals;
        }
    }

    private static String envText(Plan plan) {
        List<String> pairs = new ArrayList<String>();
        for (Map.Entry<String, byte[]> e : plan.env.entrySet()) {
            pairs.add(e.getValue() == null ? "-" + e.getKey() : e.getKey() + "=" + Native.text(e.getValue()));
        }
        return "{" + String.join(", ", pairs) + "}";
    }

    private static String fateText(Plan plan, Plan.Entry entry) {
        switch (entry.fate) {
            case REPLACED: return (entry.descriptor.fd == 0 ? "/dev/null" : plan.log == null ? stdout(plan) : Native.text(plan.log))
                    + " instead";
            case CLOSE_ON_EXEC: return "closed by exec (close-on-exec)";
            case WITHHELD: return plan.strategy == Strategy.EXEC ? "closed by exec (jrestart marks it)" : "withheld";
            default: return "inherited";
        }
    }

    private static String socket(Descriptor d) {
        if (d.socket == null) return "";
        String address = d.socket.localAddress.isEmpty() ? "unnamed" : d.socket.localAddress;
        return d.socket.family + " " + address + (d.socket.listening ? " listening" : "");
    }

    /** The orderly stop this restart makes, and its bound. */
    private static String stopText(Plan plan) {
        String bound = "within " + Plan.seconds(plan.stopTimeout()) + " s (stop_timeout:)";
        if (plan.strategy == Strategy.EXEC || plan.strategy == Strategy.OVERLAP) {
            return "every JRuby runtime's at_exit handlers and IO flush, then the JVM's shutdown hooks, " + bound
                    + (plan.strategy == Strategy.EXEC ? "; then the exec" : "; then exit 0, once the new JVM is ready");
        }
        return "on the manager's SIGTERM, every JRuby runtime's at_exit handlers and IO flush " + bound
                + ", then the JVM's own SIGTERM handling";
    }

    private static void row(StringBuilder text, String label, String value) {
        text.append(String.format(Locale.ROOT, "  %-10s %s\n", label, value));
    }

    private static String tail(String text, int width) {
        return text.length() <= width ? text : "…" + text.substring(text.length() - (width - 1));
    }
}
