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
        return number(statFields("self"), 1);
    }

    /** Process pid's parent pid, -1 when it is gone or cannot be read. */
    public static int parentPid(int pid) {
        return number(statFields(String.valueOf(pid)), 1);
    }

    /**
     * The fields of /proc/PID/stat after the command name (state, ppid, pgrp,
     * session, ...), or null when it cannot be read. The command name in
     * parentheses may hold spaces and parentheses: the fields follow the last ')'.
     */
    public static String[] statFields(String pid) {
        String stat = read("/proc/" + pid + "/stat");
        int end = stat == null ? -1 : stat.lastIndexOf(')');
        return end < 0 ? null : stat.substring(end + 1).trim().split(" ");
    }

    /** fields[index] as a number; -1 when it is missing or not one. */
    public static int number(String[] fields, int index) {
        try {
            return fields != null && fields.length > index ? Integer.parseInt(fields[index]) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Whether process pid has a descriptor open on what this process's fd is
     * open on (the same pipe, socket or file, by /proc's link names): how a
     * JVM started beside another proves which one started it, whoever its
     * parent is now.
     */
    public static boolean shares(int pid, int fd) {
        String mine = link("/proc/self/fd/" + fd);
        if (mine == null) return false;
        File[] fds = new File("/proc/" + pid + "/fd").listFiles();
        if (fds == null) return false;
        for (File f : fds) {
            if (mine.equals(link(f.getPath()))) return true;
        }
        return false;
    }

    /** The pid of a process other than this one with a descriptor open on what fd is open on; -1 if none. */
    public static int holderOf(int fd) throws JRestartException {
        String mine = link("/proc/self/fd/" + fd);
        int self = selfPid();
        File[] processes = new File("/proc").listFiles();
        if (mine == null || processes == null) return -1;
        for (File process : processes) {
            String name = process.getName();
            if (!name.matches("[0-9]+") || Integer.parseInt(name) == self) continue;
            File[] fds = new File(process, "fd").listFiles();
            if (fds == null) continue;
            for (File f : fds) {
                if (mine.equals(link(f.getPath()))) return Integer.parseInt(name);
            }
        }
        return -1;
    }

    private static String link(String path) {
        try {
            return Files.readSymbolicLink(Paths.get(path)).toString();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
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
