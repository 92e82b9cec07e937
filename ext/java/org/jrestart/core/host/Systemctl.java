package org.jrestart.core.host;

import org.jrestart.core.posix.JRestartException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Asks systemd about a unit (systemctl [--user] show, no privilege needed),
 * within a bounded time: the start limit and the main process are systemd's
 * to know (a JVM whose parent is PID 1 may be a daemonized cron job, and one
 * a unit's shell started is in the unit's cgroup as much as the unit's own),
 * and a restart must not hang on a client that does not answer.
 */
public final class Systemctl {
    private static final long TIMEOUT_MS = 5000;

    private Systemctl() {
    }

    /**
     * systemctl [--user] show -p P... [--value] UNIT: its output; throws, saying
     * why, when it cannot be run, fails, or takes longer than TIMEOUT_MS. The
     * output is read on a thread of its own, so a systemctl that hangs with
     * its stdout open cannot hold the caller past the timeout.
     */
    static String show(String unit, boolean user, boolean value, String... properties) throws JRestartException {
        List<String> command = new ArrayList<String>(Arrays.asList("systemctl"));
        if (user) command.add("--user");
        command.add("show");
        for (String property : properties) {
            command.add("-p");
            command.add(property);
        }
        if (value) command.add("--value");
        command.add(unit);
        String shown = String.join(" ", command);
        final Process process;
        try {
            // A short synchronous query: ProcessBuilder closes the JVM's descriptors in its child itself.
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
        } catch (IOException e) {
            throw JRestartException.state(shown + " cannot be run: " + e.getMessage());
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
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
            if (!process.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                throw JRestartException.state(shown + " did not answer within " + TIMEOUT_MS + " ms");
            }
            String out = output.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            int status = process.exitValue();
            if (status != 0) throw JRestartException.state(shown + " failed (exit status " + status + "): " + out.trim());
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw JRestartException.state(shown + " was interrupted");
        } catch (ExecutionException e) {
            throw JRestartException.state(shown + "'s output cannot be read: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw JRestartException.state(shown + " did not finish its answer within " + TIMEOUT_MS + " ms");
        } finally {
            // A daemon reader still blocked (a child of systemctl holds the pipe) ends with the pipe.
            process.destroyForcibly();
        }
    }

    /** The unit's MainPID (0: it has none); throws, saying why, when systemctl does not tell. */
    public static int mainPid(String unit, boolean user) throws JRestartException {
        String out = show(unit, user, true, "MainPID").trim();
        try {
            return Integer.parseInt(out);
        } catch (NumberFormatException e) {
            throw JRestartException.state("systemctl show -p MainPID " + unit + " answered " + out + ", not a pid");
        }
    }

    /**
     * Whether unit can follow an overlap restart: Type=notify (or
     * notify-reload), so that systemd takes MAINPID= from its main process,
     * and NotifyAccess not none; says why in words, or refuses naming what to
     * set. notifySocket: whether this JVM has $NOTIFY_SOCKET.
     */
    public static String overlapUnit(String unit, boolean user, boolean notifySocket) throws JRestartException {
        String out = show(unit, user, false, "Type", "NotifyAccess");
        String type = property(out, "Type");
        String access = property(out, "NotifyAccess");
        String missing = null;
        if (!type.equals("notify") && !type.equals("notify-reload")) {
            missing = "Type=notify (it is Type=" + type + "; NotifyAccess is then main unless set otherwise)";
        } else if (!access.equals("main") && !access.equals("exec") && !access.equals("all")) {
            missing = "NotifyAccess=main (it is NotifyAccess=" + access + ")";
        }
        if (missing != null) {
            throw JRestartException.state("overlap restart refused: systemd takes the new JVM as " + unit + "'s main"
                    + " process only from a Type=notify unit's main process (MAINPID=); set " + missing + " in its"
                    + " [Service] section, and call JRestart.ready! once the service is up (it sends READY=1)");
        }
        if (!notifySocket) {
            throw JRestartException.state("overlap restart refused: " + unit + " is Type=" + type + " but this JVM"
                    + " has no NOTIFY_SOCKET to tell systemd of the new JVM with");
        }
        return "systemd unit " + unit + " (Type=" + type + ", NotifyAccess=" + access + "): told MAINPID=<the new"
                + " JVM> once that is ready, so that it stays active, counts no restart, and stops the new JVM";
    }

    /** NAME's value in systemctl show's NAME=value lines; "" when it is not there. */
    private static String property(String out, String name) {
        for (String line : out.split("\n")) {
            if (line.startsWith(name + "=")) return line.substring(name.length() + 1).trim();
        }
        return "";
    }

    /**
     * The unit's TimeoutStopUSec in seconds (what systemd gives its stop
     * before SIGKILL): Double.POSITIVE_INFINITY for "infinity"; throws, saying
     * why, when systemctl does not tell.
     */
    public static double timeoutStopSeconds(String unit, boolean user) throws JRestartException {
        String out = show(unit, user, true, "TimeoutStopUSec").trim();
        double seconds = timespan(out);
        if (Double.isNaN(seconds)) {
            throw JRestartException.state("systemctl show -p TimeoutStopUSec " + unit + " answered " + out
                    + ", not a time span");
        }
        return seconds;
    }

    /** A systemd time span as systemctl shows it ("1min 30s", "90s", "500ms", "infinity") in seconds; NaN if not one. */
    static double timespan(String text) {
        if (text.equals("infinity")) return Double.POSITIVE_INFINITY;
        Matcher m = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([a-z]*)").matcher(text);
        double seconds = 0;
        int end = 0;
        while (end < text.length() && m.find(end) && m.start() == end) {
            double unit = unitSeconds(m.group(2));
            if (Double.isNaN(unit)) return Double.NaN;
            seconds += Double.parseDouble(m.group(1)) * unit;
            end = m.end();
        }
        return end == text.length() && end > 0 ? seconds : Double.NaN;
    }

    private static double unitSeconds(String unit) {
        switch (unit) {
            case "us": case "usec": return 1e-6;
            case "ms": case "msec": return 1e-3;
            case "": case "s": case "sec": return 1;
            case "m": case "min": return 60;
            case "h": case "hr": return 3600;
            case "d": return 86400;
            case "w": return 7 * 86400;
            default: return Double.NaN;
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
