package org.jrestart.core.launch;

import org.jrestart.core.posix.JRestartException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * A start or an exec as the launch layer carries it out: what runs, with what
 * environment, descriptors and stdio, all decided and checked above it. The
 * launch layer takes nothing else, so that it never reaches back into the
 * decision.
 */
public final class LaunchRequest {
    final List<byte[]> command;
    final byte[] path;
    final List<byte[]> environment;
    final Strategy strategy;
    final CloseMode close;
    final int[] keep;
    /** null for an exec in place, which keeps the cwd. */
    final byte[] chdir;
    final byte[] log;
    final double delay;
    final byte[] sleep;
    /** Where the delay's /bin/sh writes "ID STATUS" once the command ends; null when nobody reads it. */
    final byte[] statusFile;
    final String statusId;
    /** An exec in place puts each held[0][i] (a close-on-exec duplicate) back onto held[1][i] if it was closed. */
    final int[][] held;
    /**
     * The new program's fds 0, 1 and 2 (each dup2'ed from this process's number),
     * in this process's session: a JVM started beside this one (beside). null: a
     * detached command, in a new session, with stdio on /dev/null or the log.
     */
    final int[] stdio;

    /**
     * command is the argv as given (its first word names it in errors), path
     * the file executed, environment NAME=value entries, sleep the absolute
     * path of sleep(1) when delay > 0.
     */
    public LaunchRequest(List<byte[]> command, byte[] path, List<byte[]> environment, Strategy strategy,
                         CloseMode close, int[] keep, byte[] chdir, byte[] log, double delay, byte[] sleep) {
        this(command, path, environment, strategy, close, keep, chdir, log, delay, sleep, null, null, NONE_HELD, null);
    }

    private static final int[][] NONE_HELD = {new int[0], new int[0]};

    private LaunchRequest(List<byte[]> command, byte[] path, List<byte[]> environment, Strategy strategy,
                          CloseMode close, int[] keep, byte[] chdir, byte[] log, double delay, byte[] sleep,
                          byte[] statusFile, String statusId, int[][] held, int[] stdio) {
        this.command = Collections.unmodifiableList(new ArrayList<byte[]>(command));
        this.path = path;
        this.environment = Collections.unmodifiableList(new ArrayList<byte[]>(environment));
        this.strategy = strategy;
        this.close = close;
        this.keep = keep.clone();
        this.chdir = chdir;
        this.log = log;
        this.delay = delay;
        this.sleep = sleep;
        this.statusFile = statusFile;
        this.statusId = statusId;
        this.held = held;
        this.stdio = stdio;
    }

    /** This request, with the delay's /bin/sh waiting for the command and writing "id status" to file. */
    public LaunchRequest reportingStatus(byte[] file, String id) {
        return new LaunchRequest(command, path, environment, strategy, close, keep, chdir, log, delay, sleep, file, id, held, stdio);
    }

    /**
     * This request, with descriptors held for an exec in place: from[i], a
     * close-on-exec duplicate of to[i], goes back onto to[i] just before the
     * exec when to[i] no longer is that file (closed meanwhile).
     */
    public LaunchRequest holding(int[][] fromTo) {
        return new LaunchRequest(command, path, environment, strategy, close, keep, chdir, log, delay, sleep, statusFile,
                statusId, fromTo, stdio);
    }

    /**
     * This request, started beside this process: in its session and cwd,
     * with fds 0, 1 and 2 dup2'ed from stdio[0..2] (kept as they are where
     * stdio[i] == i), with environment instead. The manager that watches
     * this process watches it too.
     */
    public LaunchRequest beside(int[] stdio, List<byte[]> environment) {
        return new LaunchRequest(command, path, environment, strategy, close, keep, null, null, 0, null, null, null,
                held, stdio.clone());
    }

    /**
     * This request run through program (an absolute path) with options
     * before the request's own file and arguments: program options PATH ARGS.
     */
    LaunchRequest through(byte[] program, String... options) {
        List<byte[]> argv = new ArrayList<byte[]>();
        argv.add(program);
        for (String option : options) argv.add(option.getBytes(StandardCharsets.UTF_8));
        argv.add(path);
        argv.addAll(command.subList(1, command.size()));
        return new LaunchRequest(argv, program, environment, strategy, close, keep, chdir, log, delay, sleep, statusFile,
                statusId, held, stdio);
    }

    /** This request, with fds (above 2, open; -1 is skipped) kept by the command too. */
    LaunchRequest keeping(int... fds) {
        int[] more = Arrays.copyOf(keep, keep.length + fds.length);
        int n = keep.length;
        for (int fd : fds) if (fd >= 0) more[n++] = fd;
        more = Arrays.copyOf(more, n);
        Arrays.sort(more);
        return new LaunchRequest(command, path, environment, strategy, close, more, chdir, log, delay, sleep, statusFile,
                statusId, held, stdio);
    }

    /**
     * entries (NAME=value) with every entry of name taken out, and name=value
     * added unless value is null: what a new image must see of a variable
     * only this process sets (never one inherited from an earlier image).
     */
    public static List<byte[]> setting(List<byte[]> entries, String name, String value) {
        byte[] prefix = (name + "=").getBytes(StandardCharsets.UTF_8);
        List<byte[]> result = new ArrayList<byte[]>(entries.size() + 1);
        for (byte[] entry : entries) {
            if (!startsWith(entry, prefix)) result.add(entry);
        }
        if (value != null) result.add((name + "=" + value).getBytes(StandardCharsets.UTF_8));
        return result;
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        if (bytes.length < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) {
            if (bytes[i] != prefix[i]) return false;
        }
        return true;
    }

    /** Which descriptors the new program keeps, decided now from what is open now. */
    public Inheritance inheritance() throws JRestartException {
        return close == CloseMode.SOCKETS ? Inheritance.sparingNonSockets(keep) : Inheritance.keeping(keep);
    }
}
