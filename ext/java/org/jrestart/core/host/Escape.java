package org.jrestart.core.host;

import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Native;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A restart command named by the owner (an argument, JRestart.command,
 * JRESTART_COMMAND) runs, under systemd, in the unit's cgroup: when it stops
 * the unit, systemd kills it with the unit, half-way. So it is handed to
 * systemd as a transient service of its own (systemd-run --no-block
 * --collect), outside the unit; systemd-run returns once the job is queued,
 * before the service is asked to stop. Without the right to do that (a system
 * unit, not root) the restart is refused: nothing that would be killed
 * half-way is started.
 */
public final class Escape {
    private static final List<String> SYSTEMD_TOOLS = Arrays.asList("systemctl", "systemd-run");

    private Escape() {
    }

    /** systemctl and systemd-run hand their work to systemd: they need no escape. */
    public static boolean handsToSystemd(List<byte[]> command) {
        String first = Native.text(command.get(0));
        return SYSTEMD_TOOLS.contains(first.substring(first.lastIndexOf('/') + 1));
    }

    /**
     * command as a systemd-run of it, out of unit's cgroup, with its cwd, log,
     * env (a null value unsets the name there) and delay; throws where that
     * is not allowed.
     */
    public static List<byte[]> through(Manager unit, List<byte[]> command, byte[] chdir, byte[] log,
                                       Map<String, byte[]> env, double delay) throws JRestartException {
        boolean user = unit.command.contains("--user");
        String name = Native.text(command.get(0));
        if (!user && Native.LIBC.geteuid() != 0) {
            throw JRestartException.state("restart with " + name + " refused: under the system unit " + unit.service
                    + " (" + String.join("; ", unit.evidence) + "), it would run in the unit's cgroup and be killed"
                    + " half-way if it stops the unit, and without root it cannot be handed to systemd (systemd-run)."
                    + " Use restart! with no command, which restarts in place, or a command that asks systemd itself"
                    + " (systemctl, systemd-run) with a polkit rule that allows it");
        }
        List<byte[]> argv = new ArrayList<byte[]>();
        argv.add(bytes("systemd-run"));
        if (user) argv.add(bytes("--user"));
        argv.add(bytes("--no-block"));
        argv.add(bytes("--collect"));
        argv.add(bytes("--quiet"));
        argv.add(bytes("--description=jrestart: restart " + unit.service));
        argv.add(concat("--working-directory=", chdir));
        if (log != null) {
            argv.add(concat("--property=StandardOutput=append:", log));
            argv.add(concat("--property=StandardError=append:", log));
        }
        // The transient service gets systemd's environment, not the JVM's (so unsetenv_others
        // holds by itself): what env: sets is passed on, and what it unsets is unset there too.
        for (Map.Entry<String, byte[]> e : env.entrySet()) {
            if (e.getValue() != null) argv.add(concat("--setenv=" + e.getKey() + "=", e.getValue()));
            else argv.add(bytes("--property=UnsetEnvironment=" + e.getKey()));
        }
        if (delay > 0) {
            argv.add(bytes(String.format(Locale.ROOT, "--on-active=%dms", Math.max(1, Math.round(delay * 1000)))));
        }
        argv.add(bytes("--"));
        argv.addAll(command);
        return argv;
    }

    /** Why a command is wrapped so, for the plan's text. */
    public static String why(Manager unit) {
        return "handed to systemd as a transient service (systemd-run), out of " + unit.service + "'s cgroup, which"
                + " systemd kills when it stops the unit";
    }

    private static byte[] concat(String prefix, byte[] value) {
        byte[] head = bytes(prefix);
        byte[] all = Arrays.copyOf(head, head.length + value.length);
        System.arraycopy(value, 0, all, head.length, value.length);
        return all;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
