package org.jrestart.core.history;

import org.jrestart.core.launch.ExitListener;
import org.jrestart.core.launch.LaunchRequest;
import org.jrestart.core.launch.Reexec;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.Proc;
import org.jrestart.core.posix.Support;
import org.jrestart.core.posix.Warnings;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * What the new JVM can know of the restart that started it: the old JVM
 * writes KEY.record in the state directory before it starts the command; the
 * detached side adds the command's exit status (KEY.status); the new JVM
 * claims the record when jrestart loads and marks it done, so that no later
 * JVM (one the supervisor restarts after a crash, say) takes that restart for
 * its own. The key is the service as detected, else this JVM's own command
 * line, which the new JVM computes the same way.
 */
public final class RestartRecord {
    /** How the service was restarted. */
    public enum Mechanism {
        /** The command, started detached with posix_spawn. */
        SPAWN,
        /** The command, started detached with fork and exec. */
        FORK,
        /** The command, handed to systemd-run out of the unit's cgroup. */
        SYSTEMD_RUN,
        /** An exec of the service's own command line, same pid. */
        IN_PLACE,
        /** The service's own command line started beside it, taking over once ready. */
        OVERLAP
    }

    /**
     * The record's id in the environment of the image an exec in place
     * starts: a pending in-place record is that image's only if both the pid
     * and this id match, so a JVM that died before its exec, or any later
     * process that gets the same pid, claims nothing. A grandchild inherits
     * the variable, but runs under another pid.
     */
    public static final String ID_VARIABLE = "JRESTART_RESTART_ID";
    private static final String FORMAT = "jrestart-record-1";
    /** A record holds a command line (in place: the JVM's own, class path and all), so more than a count. */
    private static final int RECORD_LIMIT = 1024 * 1024;
    /** The longest reason a record keeps, in UTF-8 bytes: restart!'s reason: is refused beyond it. */
    public static final int REASON_LIMIT = 1024;
    /** At most this many names of what still ran at the stop timeout are kept, each at most NAME_LIMIT chars. */
    public static final int STILL_RUNNING_LIMIT = 32;
    public static final int NAME_LIMIT = 200;
    private static final SecureRandom IDS = new SecureRandom();
    private static RestartRecord last;
    private static boolean claimed;

    private final String id;
    private final int previousPid;
    private final String reason;
    private final long requestedAt;
    private final Mechanism mechanism;
    private final List<String> command;
    private final long loadedAt;
    private final Path statusFile;
    private volatile Integer commandStatus;
    /** The record's file, read again by an overlap's new JVM until the old one has said how it ended. */
    private final Path file;
    private volatile List<String> stillRunning;
    private volatile Long overlapMillis;

    private RestartRecord(Properties p, long loadedAt, Path statusFile, Path file) {
        this.id = p.getProperty("id");
        this.previousPid = Integer.parseInt(p.getProperty("previous_pid"));
        this.reason = p.getProperty("reason");
        this.requestedAt = Long.parseLong(p.getProperty("requested_at"));
        this.mechanism = Mechanism.valueOf(p.getProperty("mechanism").toUpperCase(Locale.ROOT));
        int words = Integer.parseInt(p.getProperty("command.size"));
        List<String> argv = new ArrayList<String>(words);
        for (int i = 0; i < words; i++) argv.add(p.getProperty("command." + i));
        this.command = Collections.unmodifiableList(argv);
        this.stillRunning = stillRunning(p);
        String status = p.getProperty("command_status");
        this.commandStatus = status == null ? null : Integer.valueOf(status);
        this.loadedAt = loadedAt;
        this.statusFile = statusFile;
        this.file = file;
        String overlap = p.getProperty("overlap_ms");
        this.overlapMillis = overlap == null ? null : Long.valueOf(overlap);
    }

    private static List<String> stillRunning(Properties p) {
        int running = Integer.parseInt(p.getProperty("still_running.size", "0"));
        List<String> names = new ArrayList<String>(running);
        for (int i = 0; i < running; i++) names.add(p.getProperty("still_running." + i));
        return Collections.unmodifiableList(names);
    }

    /**
     * What is wrong with a record read from a file, field by field, or null
     * when every field the constructor reads is there and in range: a damaged
     * or forged record must not make the JVM that loads jrestart fail.
     */
    private static String invalid(Properties p) {
        if (!FORMAT.equals(p.getProperty("format"))) return "format is not " + FORMAT;
        String state = p.getProperty("state");
        if (!"pending".equals(state) && !"done".equals(state)) return "state is not pending or done";
        if (!matches(p, "id", "[0-9a-f]{1,16}")) return "id is not 1 to 16 hex digits";
        if (!inRange(p, "previous_pid", 1, Integer.MAX_VALUE)) return "previous_pid is not a pid";
        if (!inRange(p, "requested_at", 0, Long.MAX_VALUE)) return "requested_at is not a time";
        String mechanism = p.getProperty("mechanism");
        boolean known = false;
        for (Mechanism m : Mechanism.values()) known |= m.name().toLowerCase(Locale.ROOT).equals(mechanism);
        if (!known) return "mechanism is not one of spawn, fork, systemd_run, in_place, overlap";
        String reason = p.getProperty("reason");
        if (reason != null && reason.getBytes(StandardCharsets.UTF_8).length > REASON_LIMIT) {
            return "reason is longer than " + REASON_LIMIT + " bytes";
        }
        // Each word is a line of the file: a count above the lines there is a lie, not an allocation to make.
        if (!inRange(p, "command.size", 0, p.size())) return "command.size is not 0 to " + p.size();
        int words = Integer.parseInt(p.getProperty("command.size"));
        for (int i = 0; i < words; i++) {
            if (p.getProperty("command." + i) == null) return "command." + i + " is missing";
        }
        if (p.getProperty("still_running.size") != null
                && !inRange(p, "still_running.size", 0, STILL_RUNNING_LIMIT)) {
            return "still_running.size is not 0 to " + STILL_RUNNING_LIMIT;
        }
        int running = Integer.parseInt(p.getProperty("still_running.size", "0"));
        for (int i = 0; i < running; i++) {
            String name = p.getProperty("still_running." + i);
            if (name == null || name.length() > NAME_LIMIT) return "still_running." + i + " is missing or too long";
        }
        if (p.getProperty("command_status") != null && !inRange(p, "command_status", 0, 255)) {
            return "command_status is not 0 to 255";
        }
        if (p.getProperty("overlap_ms") != null && !inRange(p, "overlap_ms", 0, Long.MAX_VALUE)) {
            return "overlap_ms is not a duration";
        }
        return null;
    }

    private static boolean matches(Properties p, String name, String pattern) {
        String value = p.getProperty(name);
        return value != null && value.matches(pattern);
    }

    private static boolean inRange(Properties p, String name, long min, long max) {
        String value = p.getProperty(name);
        if (value == null || !value.matches("[0-9]{1,19}")) return false;
        try {
            long n = Long.parseLong(value);
            return n >= min && n <= max;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** The restart that started this JVM, or null: this JVM was not started by a jrestart restart. */
    public static synchronized RestartRecord last() {
        return last;
    }

    /**
     * Claims the record of the restart that started this JVM, kept under key,
     * once per JVM (Plan.claimRecord). Never throws: a JVM that cannot read
     * its record has none.
     */
    public static synchronized void claim(final String key) {
        if (claimed) return;
        claimed = true;
        final long now = System.currentTimeMillis();
        try {
            final Map<String, String> env = System.getenv();
            final StateDirectory directory = StateDirectory.existing(env);
            if (directory == null) return;
            final int self = Proc.selfPid();
            final Path file = directory.file(key, ".record");
            // Looked at first without a lock: a JVM that no restart started writes nothing, not even a lock file.
            Properties seen = read(file);
            if (seen == null || !"pending".equals(seen.getProperty("state"))) return;
            last = directory.locked(key, new StateDirectory.Locked<RestartRecord>() {
                @Override
                public RestartRecord run() throws IOException {
                    Properties record = read(file);
                    if (record == null || !"pending".equals(record.getProperty("state"))) return null;
                    RestartRecord restart = new RestartRecord(record, now, directory.file(key, ".status"), file);
                    // Only a JVM started after the request is its result; in place, the pid stays, and the exec
                    // handed the id on. (Asked only here: the management classes cost tens of ms, paid once, by a
                    // JVM that was restarted.)
                    long started = ManagementFactory.getRuntimeMXBean().getStartTime();
                    // Beside the old JVM, the id came with the new JVM's environment (its parent may be systemd).
                    boolean ours = started >= restart.requestedAt && (restart.mechanism == Mechanism.IN_PLACE
                            ? restart.previousPid == self && restart.id.equals(env.get(ID_VARIABLE))
                            : restart.mechanism == Mechanism.OVERLAP
                            ? restart.previousPid != self && restart.id.equals(env.get(ID_VARIABLE))
                            : restart.previousPid != self);
                    if (!ours) return null;
                    record.setProperty("state", "done");
                    record.setProperty("claimed_by", String.valueOf(self));
                    record.setProperty("loaded_at", String.valueOf(now));
                    // In place (or beside), the new JVM was the command, and it worked: this JVM runs.
                    if (restart.mechanism == Mechanism.IN_PLACE || restart.mechanism == Mechanism.OVERLAP) {
                        record.setProperty("command_status", "0");
                        restart.commandStatus = 0;
                    }
                    StateDirectory.write(file, bytes(record));
                    return restart;
                }
            });
        } catch (JRestartException | IOException | RuntimeException e) {
            Warnings.warn("the record of the restart that started this JVM cannot be read: " + e.getMessage());
        }
    }

    /**
     * The directory the guard and the record use, created when missing; said
     * as a path. They use the JVM's own environment (System.getenv(): what
     * the service was started with, and what the next JVM gets); environment
     * (null: that one) says where a service with another would keep it.
     */
    public static String stateDirectory(Map<String, byte[]> environment) throws JRestartException {
        Support.require("state_directory");
        if (environment == null) return StateDirectory.find(System.getenv()).path.toString();
        Map<String, String> text = new LinkedHashMap<String, String>();
        for (Map.Entry<String, byte[]> e : environment.entrySet()) text.put(e.getKey(), Native.text(e.getValue()));
        return StateDirectory.find(text).path.toString();
    }

    /** The environment entries of an exec in place: environment with record's id (none without a record). */
    public static List<byte[]> identify(List<byte[]> environment, Pending record) {
        return LaunchRequest.setting(environment, ID_VARIABLE, record == null ? null : record.id);
    }

    /** The key a service's files go by when no manager was detected: this JVM's own command line. */
    public static String commandLineKey() throws JRestartException {
        // The program by /proc/self/exe: "java" and /usr/bin/java start the same service.
        List<String> words = new ArrayList<String>();
        words.add(Native.text(Reexec.selfProgram()));
        List<byte[]> argv = Reexec.selfArgv();
        for (byte[] word : argv.subList(Math.min(1, argv.size()), argv.size())) words.add(Native.text(word));
        return "command line " + String.join(" ", words);
    }

    /**
     * Writes the pending record of a restart about to start (before the
     * command does) and an empty status file for the command's exit status.
     * The returned Pending puts the previous record back if the restart does
     * not happen.
     */
    public static Pending write(final StateDirectory directory, final String key, List<byte[]> command, String reason,
                                final Mechanism mechanism, int pid, long now) throws JRestartException {
        final Path file = directory.file(key, ".record");
        final Path status = directory.file(key, ".status");
        final String id = Long.toHexString(IDS.nextLong());
        final Properties record = new Properties();
        record.setProperty("format", FORMAT);
        record.setProperty("state", "pending");
        record.setProperty("id", id);
        record.setProperty("service", key);
        record.setProperty("previous_pid", String.valueOf(pid));
        if (reason != null) record.setProperty("reason", reason);
        record.setProperty("requested_at", String.valueOf(now));
        record.setProperty("mechanism", mechanism.name().toLowerCase(Locale.ROOT));
        record.setProperty("command.size", String.valueOf(command.size()));
        for (int i = 0; i < command.size(); i++) record.setProperty("command." + i, Native.text(command.get(i)));
        try {
            return directory.locked(key, new StateDirectory.Locked<Pending>() {
                @Override
                public Pending run() throws IOException {
                    byte[] previous;
                    try {
                        previous = StateDirectory.read(file, RECORD_LIMIT);
                    } catch (IOException e) {
                        Warnings.warn("the restart record " + file + " cannot be read (" + StateDirectory.reason(e)
                                + "); it is replaced");
                        previous = null;
                    }
                    // In place, there is no command to wait for: the new image says the exec worked.
                    if (mechanism != Mechanism.IN_PLACE) StateDirectory.write(status, new byte[0]);
                    StateDirectory.write(file, bytes(record));
                    return new Pending(directory, key, file, previous, id, status);
                }
            });
        } catch (IOException e) {
            throw JRestartException.state("the restart record " + file + " cannot be written ("
                    + StateDirectory.reason(e) + "); nothing was started");
        }
    }

    /** A record written for a restart still under way. */
    public static final class Pending implements ExitListener {
        private final StateDirectory directory;
        private final String key;
        private final Path file;
        private final byte[] previous;
        final String id;
        /** Where the command's wrapper writes "ID STATUS". */
        final Path status;

        Pending(StateDirectory directory, String key, Path file, byte[] previous, String id, Path status) {
            this.directory = directory;
            this.key = key;
            this.file = file;
            this.previous = previous;
            this.id = id;
            this.status = status;
        }

        /**
         * The command ended with this wait status while the old JVM watched:
         * its exit status, or 128 + the signal that killed it, as a shell says.
         */
        @Override
        public void exited(int waitStatus) {
            int code = (waitStatus & 0x7f) == 0 ? (waitStatus >> 8) & 0xff : 128 + (waitStatus & 0x7f);
            try {
                StateDirectory.write(status, (id + " " + code + "\n").getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                Warnings.warn("the restart command's exit status cannot be recorded in " + status + ": "
                        + StateDirectory.reason(e));
            }
        }

        /** Where the delay's /bin/sh writes "ID STATUS" (LaunchRequest.reportingStatus). */
        public byte[] statusFile() {
            return status.toString().getBytes(StandardCharsets.UTF_8);
        }

        public String id() {
            return id;
        }

        /**
         * Adds to the record what was still running when the orderly stop's
         * deadline passed (a hook, a runtime's at_exit handlers), just before
         * the exec: at most STILL_RUNNING_LIMIT names of NAME_LIMIT chars.
         */
        public void stillRunning(List<String> names) {
            if (names.isEmpty()) return;
            amend("what still ran at the stop timeout", stillRunningFields(names));
        }

        /**
         * An overlap restart's old JVM, at the end of its stop: how long both
         * JVMs ran, and what still ran at the stop timeout (as stillRunning).
         */
        public void overlapEnded(List<String> names, double seconds) {
            Map<String, String> fields = stillRunningFields(names);
            fields.put("overlap_ms", String.valueOf(Math.max(0, Math.round(seconds * 1000))));
            amend("how long the overlap lasted", fields);
        }

        private static Map<String, String> stillRunningFields(List<String> names) {
            Map<String, String> fields = new LinkedHashMap<String, String>();
            if (names.isEmpty()) return fields;
            int n = Math.min(names.size(), STILL_RUNNING_LIMIT);
            fields.put("still_running.size", String.valueOf(n));
            for (int i = 0; i < n; i++) {
                String name = names.get(i);
                fields.put("still_running." + i, name.length() > NAME_LIMIT ? name.substring(0, NAME_LIMIT) : name);
            }
            return fields;
        }

        /** Sets fields in this restart's record (if it is still this one's), under the lock; a failure is said. */
        private void amend(String what, final Map<String, String> fields) {
            try {
                directory.locked(key, new StateDirectory.Locked<Void>() {
                    @Override
                    public Void run() throws IOException {
                        Properties now = read(file);
                        if (now == null || !id.equals(now.getProperty("id"))) return null;
                        for (Map.Entry<String, String> field : fields.entrySet()) {
                            now.setProperty(field.getKey(), field.getValue());
                        }
                        StateDirectory.write(file, bytes(now));
                        return null;
                    }
                });
            } catch (IOException | JRestartException | RuntimeException e) {
                Warnings.warn(what + " cannot be recorded in " + file + ": " + e.getMessage());
            }
        }

        /** The restart did not happen: the record of the one before is what stays. */
        public void rollback() {
            try {
                directory.locked(key, new StateDirectory.Locked<Void>() {
                    @Override
                    public Void run() throws IOException {
                        Properties now = read(file);
                        if (now == null || !id.equals(now.getProperty("id"))) return null;
                        if (previous == null) Files.deleteIfExists(file);
                        else StateDirectory.write(file, previous);
                        return null;
                    }
                });
            } catch (IOException | JRestartException | RuntimeException e) {
                Warnings.warn("the record of a restart that did not happen stays in " + file + ": " + e.getMessage());
            }
        }
    }

    /**
     * The record in file, or null when there is none; one that is too long,
     * does not parse or has a field out of range is said (naming the file and
     * the field) and taken for none.
     */
    private static Properties read(Path file) {
        byte[] bytes;
        try {
            bytes = StateDirectory.read(file, RECORD_LIMIT);
        } catch (IOException e) {
            Warnings.warn("the restart record " + file + " cannot be read (" + StateDirectory.reason(e)
                    + "); it is ignored, and the next restart replaces it");
            return null;
        }
        if (bytes == null) return null;
        Properties record = new Properties();
        String problem;
        try {
            record.load(new StringReader(new String(bytes, StandardCharsets.UTF_8)));
            problem = invalid(record);
        } catch (IllegalArgumentException | IOException e) {
            problem = "it does not parse (" + StateDirectory.reason(e) + ")";
        }
        if (problem == null) return record;
        Warnings.warn("the restart record " + file + " is invalid (" + problem + "); it is ignored, and the next"
                + " restart replaces it");
        return null;
    }

    private static byte[] bytes(Properties record) throws IOException {
        StringWriter text = new StringWriter();
        record.store(text, "jrestart: the record of a restart, for the JVM it starts");
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The pid of the JVM that asked for the restart (the same pid for a restart in place). */
    public int previousPid() {
        return previousPid;
    }

    /** restart!'s reason:, or null. */
    public String reason() {
        return reason;
    }

    /** When the restart was asked for, in milliseconds since the epoch. */
    public long requestedAt() {
        return requestedAt;
    }

    public Mechanism mechanism() {
        return mechanism;
    }

    /** The command that restarted the service; for a restart in place, the service's own command line. */
    public List<String> command() {
        return command;
    }

    /**
     * The command's exit status, or null while it is unknown (the command
     * still runs, or its status could not be learnt). Read again on every
     * call until it is known.
     */
    public Integer commandStatus() {
        Integer known = commandStatus;
        if (known != null) return known;
        try {
            byte[] bytes = StateDirectory.read(statusFile);
            if (bytes == null) return null;
            String[] words = new String(bytes, StandardCharsets.US_ASCII).trim().split(" ");
            if (words.length == 2 && words[0].equals(id)) return commandStatus = Integer.valueOf(words[1]);
        } catch (IOException | NumberFormatException e) {
            // Unknown, as the status file says nothing usable.
        }
        return null;
    }

    /**
     * What was still running when the orderly stop's timeout passed and the
     * exec went ahead anyway (shutdown hooks by thread name, a runtime's
     * at_exit handlers); empty when everything finished in time.
     */
    public List<String> stillRunning() {
        refresh();
        return stillRunning;
    }

    /**
     * An overlap restart: the seconds both JVMs ran (from the new JVM's start
     * until the old one had stopped and exited); null while the old one still
     * stops, and for the other mechanisms. Read again on every call until known.
     */
    public Double overlap() {
        refresh();
        Long known = overlapMillis;
        return known == null ? null : known / 1000.0;
    }

    /** The old JVM of an overlap adds to the record once it has stopped: read it again until it has. */
    private void refresh() {
        if (mechanism != Mechanism.OVERLAP || overlapMillis != null || file == null) return;
        Properties now = read(file);
        if (now == null || !id.equals(now.getProperty("id")) || now.getProperty("overlap_ms") == null) return;
        stillRunning = stillRunning(now);
        overlapMillis = Long.valueOf(now.getProperty("overlap_ms"));
    }

    /** Seconds from the request until this JVM loaded jrestart. */
    public double elapsed() {
        return (loadedAt - requestedAt) / 1000.0;
    }

    @Override
    public String toString() {
        return "RestartRecord(previous pid " + previousPid + ", " + mechanism.name().toLowerCase(Locale.ROOT) + " "
                + command + ", reason " + reason + ", status " + commandStatus() + ", " + elapsed() + " s)";
    }
}
