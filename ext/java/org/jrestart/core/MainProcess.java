package org.jrestart.core;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The main process of a systemd unit as systemd itself tracks it (systemctl
 * show -p MainPID, no privilege needed). Only systemd knows it: a JVM whose
 * parent is PID 1 may be a daemonized cron job, and the JVM a unit's shell
 * started is in the unit's cgroup as much as the unit's own.
 */
final class MainProcess {
    private static final long TIMEOUT_MS = 5000;

    private MainProcess() {
    }

    /** The unit's MainPID (0: it has none); throws, saying why, when systemctl does not tell. */
    static int of(String unit, boolean user) throws JRestartException {
        List<String> command = new ArrayList<String>();
        command.add("systemctl");
        if (user) command.add("--user");
        command.add("show");
        command.add("-p");
        command.add("MainPID");
        command.add("--value");
        command.add(unit);
        String shown = String.join(" ", command);
        String out;
        int status;
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            // Its answer is one short line, far below a pipe's buffer: waiting first cannot block on it.
            if (!process.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw JRestartException.state(shown + " did not answer within " + TIMEOUT_MS + " ms");
            }
            out = read(process.getInputStream()).trim();
            status = process.exitValue();
        } catch (IOException e) {
            throw JRestartException.state(shown + " cannot be run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw JRestartException.state(shown + " was interrupted");
        }
        if (status != 0) throw JRestartException.state(shown + " failed (exit status " + status + "): " + out);
        try {
            return Integer.parseInt(out);
        } catch (NumberFormatException e) {
            throw JRestartException.state(shown + " answered " + out + ", not a pid");
        }
    }

    private static String read(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        for (int n; (n = in.read(buffer)) > 0; ) bytes.write(buffer, 0, n);
        in.close();
        return new String(bytes.toByteArray(), StandardCharsets.UTF_8);
    }
}
