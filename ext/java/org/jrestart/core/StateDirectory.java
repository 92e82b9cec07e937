package org.jrestart.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
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
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where the restart-loop guard and the restart record live between JVMs:
 * $STATE_DIRECTORY (systemd's StateDirectory=), else $XDG_STATE_HOME/jrestart,
 * else ~/.local/state/jrestart, else /var/tmp/jrestart-UID. A directory is
 * used only when it is a real directory of this user that nobody else can
 * write to, so that no one can plant a file or a symlink in it; files in it
 * are 0600, replaced by rename and never opened through a symlink.
 */
final class StateDirectory {
    private static final int READ_LIMIT = 64 * 1024;
    private static final EnumSet<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
    private static final EnumSet<PosixFilePermission> FILE_MODE = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE);

    final Path path;

    private StateDirectory(Path path) {
        this.path = path;
    }

    /**
     * The first usable candidate, created 0700 when missing. A candidate
     * whose variable is set but cannot be used is warned about, then the next
     * is tried; none usable: the failure names them all.
     */
    static StateDirectory find(Map<String, String> env) throws JRestartException {
        List<String> refused = new ArrayList<String>();
        for (String[] candidate : candidates(env)) {
            Path dir = Paths.get(candidate[1]);
            String problem = usable(dir, true);
            if (problem == null) {
                for (String warning : refused) Warnings.warn(warning + "; using " + dir + " instead");
                String mount = privateTmp(dir);
                if (mount != null) {
                    Warnings.warn(dir + " is in " + mount + ", which is this systemd unit's own (PrivateTmp=) and"
                            + " is emptied when the unit stops: the restart count and the record do not outlive the"
                            + " restart there. Give the unit StateDirectory= (systemd sets $STATE_DIRECTORY)");
                }
                return new StateDirectory(dir);
            }
            refused.add(candidate[0] + " cannot hold jrestart's restart state: " + problem);
        }
        throw JRestartException.state("no directory can hold jrestart's restart state (" + String.join("; ", refused)
                + ")");
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
        return null;
    }

    /** {what the user set, the directory} in the order they are tried. */
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
        String fallback = "/var/tmp/jrestart-" + Native.LIBC.geteuid();
        list.add(new String[] {fallback, fallback});
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
        if (attributes.permissions().contains(PosixFilePermission.GROUP_WRITE)
                || attributes.permissions().contains(PosixFilePermission.OTHERS_WRITE)) {
            return dir + " is writable by others (mode " + PosixFilePermissions.toString(attributes.permissions()) + ")";
        }
        // access(W_OK): a read-only mount refuses even root, whom permissions do not stop.
        if (!Files.isWritable(dir)) return dir + " is not writable";
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

    /**
     * The lock that serialises every read-and-replace of one service's files,
     * between threads and between JVMs (an advisory lock on key.lock, released
     * when the channel closes).
     */
    FileChannel lock(String key) throws IOException {
        FileChannel channel = FileChannel.open(file(key, ".lock"), options(StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(FILE_MODE));
        try {
            channel.lock();
            return channel;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * The file's bytes; null when it does not exist. A symbolic link or
     * anything but a regular file is not followed or read: it throws, and the
     * caller replaces it.
     */
    static byte[] read(Path file) throws IOException {
        PosixFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
        if (attributes.isSymbolicLink()) throw new IOException("it is a symbolic link (not followed)");
        if (!attributes.isRegularFile()) throw new IOException("it is not a regular file");
        if (attributes.size() > READ_LIMIT) throw new IOException("it is " + attributes.size() + " bytes long");
        try (SeekableByteChannel channel = Files.newByteChannel(file, options(StandardOpenOption.READ,
                LinkOption.NOFOLLOW_LINKS)); InputStream in = Channels.newInputStream(channel)) {
            byte[] buffer = new byte[READ_LIMIT + 1];
            int total = 0;
            int n;
            while (total < buffer.length && (n = in.read(buffer, total, buffer.length - total)) > 0) total += n;
            return Arrays.copyOf(buffer, total);
        }
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

    private static Set<OpenOption> options(OpenOption... options) {
        return new HashSet<OpenOption>(Arrays.asList(options));
    }

    static String reason(Exception e) {
        String message = e.getMessage();
        return message == null ? e.getClass().getSimpleName() : message;
    }
}
