package org.jrestart.core.history;

import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.Proc;
import org.jrestart.core.posix.Warnings;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one hardened primitive every state file goes through (the guard's
 * counts, the records, the start limit's counts, their locks): a directory
 * of this user that nobody else can write to, so that no one can plant a
 * file or a symlink in it; files in it are 0600, replaced by rename, read
 * bounded and never opened through a symlink; one lock per key, between
 * threads and between JVMs; and the read-prune-write of a file of times.
 * The state directory is $STATE_DIRECTORY (systemd's StateDirectory=), else
 * $XDG_STATE_HOME/jrestart, else ~/.local/state/jrestart, else
 * /var/tmp/jrestart-UID, else, when another user holds that name,
 * /var/tmp/jrestart-UID-RANDOM.
 */
public final class StateDirectory {
    /** The bound of a read: more than any count file needs (a record, which holds a command line, passes its own). */
    static final int READ_LIMIT = 64 * 1024;
    private static final EnumSet<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
    private static final EnumSet<PosixFilePermission> FILE_MODE = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE);
    private static final String VAR_TMP = "/var/tmp";
    /** File locks are per process: this serialises the threads of this JVM. */
    private static final Object THREADS = new Object();

    final Path path;

    private StateDirectory(Path path) {
        this.path = path;
    }

    /**
     * The first usable candidate, created 0700 when missing. A candidate
     * whose variable is set but cannot be used is warned about, then the next
     * is tried; none usable: the failure names them all.
     */
    public static StateDirectory find(Map<String, String> env) throws JRestartException {
        List<String> refused = new ArrayList<String>();
        StateDirectory found = first(candidates(env), refused);
        if (found == null) found = fallback(refused);
        if (found == null) {
            throw JRestartException.state("no directory can hold jrestart's restart state ("
                    + String.join("; ", refused) + ")");
        }
        for (String warning : refused) Warnings.warn(warning + "; using " + found.path + " instead");
        String mount = privateTmp(found.path);
        if (mount != null) {
            Warnings.warn(found.path + " is in " + mount + ", which is this systemd unit's own (PrivateTmp=) and"
                    + " is emptied when the unit stops: the restart count and the record do not outlive the"
                    + " restart there. Give the unit StateDirectory= (systemd sets $STATE_DIRECTORY)");
        }
        return found;
    }

    /**
     * Where systemd's start counts live: a directory reset at boot as
     * systemd's own count is (/run/jrestart for root, $XDG_RUNTIME_DIR/jrestart),
     * through the same checks; where neither is usable, the state directory.
     */
    static StateDirectory runtime(boolean userManager, Map<String, String> env) throws JRestartException {
        List<String[]> candidates = new ArrayList<String[]>();
        if (!userManager && Native.LIBC.geteuid() == 0) candidates.add(new String[] {"/run/jrestart", "/run/jrestart"});
        String runtime = env.get("XDG_RUNTIME_DIR");
        if (runtime != null && runtime.startsWith("/")) {
            candidates.add(new String[] {"XDG_RUNTIME_DIR=" + runtime, runtime + "/jrestart"});
        }
        List<String> refused = new ArrayList<String>();
        StateDirectory found = first(candidates, refused);
        if (found != null) return found;
        found = find(env);
        for (String warning : refused) Warnings.warn(warning + "; using " + found.path + " instead");
        return found;
    }

    /** The first of candidates that is usable (created when missing), or null; adds why each was not. */
    private static StateDirectory first(List<String[]> candidates, List<String> refused) {
        for (String[] candidate : candidates) {
            Path dir = Paths.get(candidate[1]);
            String problem = usable(dir, true);
            if (problem == null) return new StateDirectory(dir);
            refused.add(candidate[0] + " cannot hold jrestart's restart state: " + problem);
        }
        return null;
    }

    /**
     * /var/tmp/jrestart-UID; when another user created that name first, a
     * directory of this user's named jrestart-UID-RANDOM beside it. No one
     * else can pre-empt it: only a directory this uid owns and nobody else
     * can write is taken, whatever its name, so the next JVM finds it by
     * listing /var/tmp. Two JVMs creating one at once both keep the first in
     * name order and the other is removed.
     */
    private static StateDirectory fallback(List<String> refused) {
        Path plain = Paths.get(VAR_TMP, prefix());
        boolean exists = Files.exists(plain, LinkOption.NOFOLLOW_LINKS);
        // One created by an earlier JVM wins over a fresh plain one: its counts are there.
        StateDirectory spare = exists ? null : spare();
        if (spare != null) return spare;
        String problem = usable(plain, true);
        if (problem == null) return new StateDirectory(plain);
        refused.add(plain + " cannot hold jrestart's restart state: " + problem);
        if (!exists) return null;
        spare = spare();
        if (spare != null) return spare;
        Path created;
        try {
            created = Files.createTempDirectory(Paths.get(VAR_TMP), prefix() + "-",
                    PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            refused.add(Paths.get(VAR_TMP, prefix() + "-*") + " cannot be created (" + reason(e) + ")");
            return null;
        }
        spare = spare();
        if (spare == null || !spare.path.equals(created)) {
            try {
                Files.deleteIfExists(created);
            } catch (IOException e) {
                // An empty directory of ours left in /var/tmp: harmless.
            }
        }
        return spare;
    }

    /** The first usable /var/tmp/jrestart-UID-* in name order, or null. */
    private static StateDirectory spare() {
        List<Path> found = new ArrayList<Path>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Paths.get(VAR_TMP), prefix() + "-*")) {
            for (Path entry : entries) found.add(entry);
        } catch (IOException | SecurityException e) {
            return null;
        }
        Collections.sort(found);
        for (Path dir : found) {
            if (usable(dir, false) == null) return new StateDirectory(dir);
        }
        return null;
    }

    private static String prefix() {
        return "jrestart-" + Native.LIBC.geteuid();
    }

    /**
     * The mount point holding dir when it is a PrivateTmp= mount (its root in
     * /proc/self/mountinfo is a systemd-private-* directory); null otherwise.
     */
    private static String privateTmp(Path dir) {
        String mountinfo = Proc.read("/proc/self/mountinfo");
        if (mountinfo == null) return null;
        for (String line : mountinfo.split("\n")) {
            String[] fields = line.split(" ");
            if (fields.length < 5 || !fields[3].contains("/systemd-private-")) continue;
            if (dir.startsWith(Paths.get(fields[4]))) return fields[4];
        }
        return null;
    }

    /** The directory the previous JVM used, when it exists and is usable: nothing is created or said. */
    static StateDirectory existing(Map<String, String> env) {
        for (String[] candidate : candidates(env)) {
            Path dir = Paths.get(candidate[1]);
            if (usable(dir, false) == null) return new StateDirectory(dir);
            // A candidate that the restarting JVM skipped is skipped here too; one that did not exist yet: next.
        }
        Path plain = Paths.get(VAR_TMP, prefix());
        return usable(plain, false) == null ? new StateDirectory(plain) : spare();
    }

    /** {what the user set, the directory} in the order they are tried, before the fallback in /var/tmp. */
    private static List<String[]> candidates(Map<String, String> env) {
        List<String[]> list = new ArrayList<String[]>();
        String state = env.get("STATE_DIRECTORY");
        // systemd joins several StateDirectory= entries with ':'; the first is the unit's own.
        if (state != null && !state.isEmpty()) {
            String first = state.split(":", -1)[0];
            list.add(new String[] {"STATE_DIRECTORY=" + first, first});
        }
        String xdg = env.get("XDG_STATE_HOME");
        if (xdg != null && xdg.startsWith("/")) list.add(new String[] {"XDG_STATE_HOME=" + xdg, xdg + "/jrestart"});
        String home = env.get("HOME");
        if (home != null && home.startsWith("/")) {
            list.add(new String[] {"HOME=" + home, home + "/.local/state/jrestart"});
        }
        return list;
    }

    /** null when dir can be used (after creating it, with create); else why not. */
    private static String usable(Path dir, boolean create) {
        if (!dir.isAbsolute()) return dir + " is not an absolute path";
        PosixFileAttributes attributes;
        try {
            attributes = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            if (!create) return dir + " does not exist";
            try {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
                attributes = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException | UnsupportedOperationException | SecurityException created) {
                return dir + " cannot be created (" + reason(created) + ")";
            }
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return dir + " cannot be read (" + reason(e) + ")";
        }
        if (attributes.isSymbolicLink()) return dir + " is a symbolic link";
        if (!attributes.isDirectory()) return dir + " is not a directory";
        try {
            int uid = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            int euid = Native.LIBC.geteuid();
            if (uid != euid) return dir + " belongs to uid " + uid + ", not to this process's " + euid;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | SecurityException e) {
            return dir + "'s owner cannot be read (" + reason(e) + ")";
        }
        Set<PosixFilePermission> mode = attributes.permissions();
        if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
            return dir + " is writable by others (mode " + PosixFilePermissions.toString(mode) + ")";
        }
        // access(W_OK): a read-only mount refuses even root, whom permissions do not stop.
        if (!Files.isWritable(dir)) return dir + " is not writable";
        if (create && !OWNER_ONLY.containsAll(mode)) {
            // The names of the files say the service's command line, and the record its reason: not for others.
            // systemd's StateDirectory= is 0755 unless StateDirectoryMode= says otherwise.
            try {
                Files.setPosixFilePermissions(dir, OWNER_ONLY);
            } catch (IOException | UnsupportedOperationException | SecurityException e) {
                return dir + " is readable by others (mode " + PosixFilePermissions.toString(mode)
                        + ") and cannot be made 0700 (" + reason(e) + ")";
            }
            Warnings.warn(dir + " was readable by others (mode " + PosixFilePermissions.toString(mode) + "); jrestart"
                    + " made it rwx------ (0700), as its restart record and counts are this service's own"
                    + " (under systemd: StateDirectoryMode=0700)");
        }
        return null;
    }

    /**
     * The file for a service's state: its key made safe for a file name, with
     * a hash of the whole key so that two keys never share a file.
     */
    Path file(String key, String suffix) {
        return path.resolve(slug(key) + suffix);
    }

    static String slug(String key) {
        StringBuilder name = new StringBuilder();
        for (int i = 0; i < key.length() && name.length() < 80; i++) {
            char c = key.charAt(i);
            name.append(c < 128 && (Character.isLetterOrDigit(c) || c == '.' || c == '-' || c == '_') ? c : '_');
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            name.append('-');
            for (int i = 0; i < 4; i++) name.append(String.format("%02x", digest[i] & 0xff));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every Java has SHA-256", e);
        }
        return name.toString();
    }

    /** What runs under a key's lock. */
    interface Locked<T> {
        T run() throws IOException, JRestartException;
    }

    /**
     * Runs body holding the lock that serialises every read-and-replace of
     * one service's files, between threads and between JVMs (an advisory
     * lock on KEY.lock, released when the channel closes).
     */
    @SuppressWarnings("try") // the lock is held for the block, not used in it
    <T> T locked(String key, Locked<T> body) throws IOException, JRestartException {
        synchronized (THREADS) {
            try (FileChannel channel = FileChannel.open(file(key, ".lock"), options(StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(FILE_MODE));
                 FileLock lock = channel.lock()) {
                return body.run();
            }
        }
    }

    /**
     * The file's bytes, at most limit of them; null when it does not exist. A
     * symbolic link (O_NOFOLLOW) or anything but a regular file is not read:
     * it throws, and the caller replaces it.
     */
    static byte[] read(Path file, int limit) throws IOException {
        PosixFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
        if (attributes.isSymbolicLink()) throw new IOException("it is a symbolic link (not followed)");
        if (!attributes.isRegularFile()) throw new IOException("it is not a regular file");
        if (attributes.size() > limit) throw new IOException("it is " + attributes.size() + " bytes long");
        try (SeekableByteChannel channel = Files.newByteChannel(file, options(StandardOpenOption.READ,
                LinkOption.NOFOLLOW_LINKS)); InputStream in = Channels.newInputStream(channel)) {
            byte[] buffer = new byte[limit + 1];
            int total = 0;
            int n;
            while (total < buffer.length && (n = in.read(buffer, total, buffer.length - total)) > 0) total += n;
            if (total > limit) throw new IOException("it is more than " + limit + " bytes long");
            return Arrays.copyOf(buffer, total);
        }
    }

    static byte[] read(Path file) throws IOException {
        return read(file, READ_LIMIT);
    }

    /**
     * Replaces file with bytes atomically: a new 0600 file in the same
     * directory, synced, renamed over it. rename replaces a symlink itself,
     * never its target.
     */
    static void write(Path file, byte[] bytes) throws IOException {
        Path temporary = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp",
                PosixFilePermissions.asFileAttribute(FILE_MODE));
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) channel.write(buffer);
                channel.force(true);
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** What changes a list of times (and may refuse, throwing). */
    interface Change<T> {
        T apply(List<Long> times) throws JRestartException;
    }

    /**
     * The read-prune-write of a file of times, shared by the restart-loop
     * guard (wall-clock milliseconds) and the start limit (monotonic
     * microseconds), under the key's lock. The file (KEY + suffix) is a
     * header line, a scope line, then one time a line; only the times of the
     * same scope (the service; the boot, for monotonic times) within
     * [since, now] count, a later one as now (the clock was set back). change
     * gets them and may alter them; the file is rewritten when they changed
     * or it was damaged. A damaged file is never silently a count of 0: a
     * warning names it and what of it could be read is kept.
     */
    <T> T times(final String key, final String suffix, final String header, final String scope, final long since,
                final long now, final Change<T> change) throws IOException, JRestartException {
        final Path file = file(key, suffix);
        return locked(key, new Locked<T>() {
            @Override
            public T run() throws IOException, JRestartException {
                List<Long> times = new ArrayList<Long>();
                boolean damaged = readTimes(file, header, scope, since, now, times);
                List<Long> before = new ArrayList<Long>(times);
                T result = change.apply(times);
                if (damaged || !times.equals(before)) {
                    StringBuilder text = new StringBuilder(header).append('\n');
                    text.append(scope.replace('\n', ' ')).append('\n');
                    for (long t : times) text.append(t).append('\n');
                    write(file, text.toString().getBytes(StandardCharsets.UTF_8));
                }
                return result;
            }
        });
    }

    /**
     * Takes time back out of a file of times (as times() keeps them): a
     * restart or a start counted for something that did not happen.
     */
    void forget(String key, String suffix, String header, String scope, final long time)
            throws IOException, JRestartException {
        times(key, suffix, header, scope, Long.MIN_VALUE, Long.MAX_VALUE, new Change<Void>() {
            @Override
            public Void apply(List<Long> times) {
                times.remove(Long.valueOf(time));
                return null;
            }
        });
    }

    /** Adds the times that count to times; true when the file was damaged (and warned about). */
    private static boolean readTimes(Path file, String header, String scope, long since, long now, List<Long> times) {
        byte[] bytes;
        try {
            bytes = read(file);
        } catch (IOException e) {
            Warnings.warn("the count " + file + " cannot be read (" + reason(e)
                    + "); it is replaced, and counting starts again from this one");
            return true;
        }
        if (bytes == null) return false;
        String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n");
        boolean corrupt = !lines[0].equals(header) || lines.length < 2;
        if (!corrupt && !lines[1].equals(scope.replace('\n', ' '))) return false;
        for (int i = 2; i < lines.length && !corrupt; i++) {
            try {
                long t = Long.parseLong(lines[i].trim());
                if (t >= since) times.add(Math.min(t, now));
            } catch (NumberFormatException e) {
                corrupt = true;
            }
        }
        if (corrupt) {
            Warnings.warn("the count " + file + " is corrupt; it is replaced, keeping the " + times.size()
                    + " time(s) read before the damage");
        }
        return corrupt;
    }

    private static Set<OpenOption> options(OpenOption... options) {
        return new HashSet<OpenOption>(Arrays.asList(options));
    }

    static String reason(Exception e) {
        String message = e.getMessage();
        return message == null ? e.getClass().getSimpleName() : message;
    }
}
