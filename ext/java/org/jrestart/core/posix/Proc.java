package org.jrestart.core.posix;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

/** What /proc says of processes, as text: the layers above read it without a libc call. */
public final class Proc {
    private Proc() {
    }

    /** This process's pid as /proc shows it (the pid namespace of the /proc mount, as every /proc path is). */
    public static int selfPid() throws JRestartException {
        Support.require("service manager detection");
        try {
            return Integer.parseInt(new File("/proc/self").getCanonicalFile().getName());
        } catch (IOException | NumberFormatException e) {
            throw JRestartException.state("/proc/self cannot be read (" + e.getMessage() + "): is /proc mounted?");
        }
    }

    /**
     * This process's parent pid (/proc/self/stat), -1 when it cannot be read:
     * it changes when the parent exits and the process is reparented.
     */
    public static int parentPid() {
        String stat = read("/proc/self/stat");
        if (stat == null) return -1;
        // The command name in parentheses may hold spaces and parentheses: the fields follow the last ')'.
        String[] fields = stat.substring(stat.lastIndexOf(')') + 1).trim().split(" ");
        try {
            return fields.length > 1 ? Integer.parseInt(fields[1]) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** A small file's text (a /proc file), or null when it cannot be read. */
    public static String read(String path) {
        try {
            return new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8);
        } catch (IOException | SecurityException e) {
            return null;
        }
    }
}
