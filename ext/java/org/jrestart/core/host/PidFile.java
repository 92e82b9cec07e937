package org.jrestart.core.host;

import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Native;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * The pid file an init script (start-stop-daemon --pidfile) keeps for the
 * service, rewritten by an overlap restart with the new JVM's pid, so that
 * the script's stop and status find the JVM that serves now. Replaced
 * atomically (a file beside it, renamed over it), with the old one's owner
 * and mode: a reader sees the old pid or the new one, never a torn write.
 */
public final class PidFile {
    /** Where init scripts keep pid files; their own subdirectories are looked into too. */
    private static final String[] DIRECTORIES = {"/run", "/var/run"};
    private static final int LIMIT = 64;

    public final Path path;
    /** How it was found, in words. */
    public final String how;

    private PidFile(Path path, String how) {
        this.path = path;
        this.how = how;
    }

    /** pidfile: as given: it must be a regular file naming pid, in a directory this JVM can write. */
    public static PidFile given(byte[] name, int pid) throws JRestartException {
        String text = Native.text(name);
        Path path = Paths.get(text);
        if (!path.isAbsolute()) throw JRestartException.invalid("pidfile: must be an absolute path, got " + text);
        if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            throw JRestartException.invalid("pidfile: " + text + " is not a regular file (missing, or a symlink)");
        }
        Integer named = pidIn(path);
        if (named == null || named != pid) {
            throw JRestartException.invalid("pidfile: " + text + (named == null ? " does not hold a pid"
                    : " names pid " + named) + ", not this JVM (pid " + pid + ")");
        }
        return writable(new PidFile(path, "pidfile:"));
    }

    /**
     * The pid file naming pid in /run (or /var/run) or one directory below,
     * or null: how a JVM started by an init script's start-stop-daemon
     * --make-pidfile finds the file its stop reads.
     */
    public static PidFile find(int pid) throws JRestartException {
        List<Path> found = new ArrayList<Path>();
        for (String directory : DIRECTORIES) {
            Path dir = Paths.get(directory);
            if (Files.isSymbolicLink(dir) || !Files.isDirectory(dir)) continue;
            collect(dir, pid, found, true);
        }
        if (found.isEmpty()) return null;
        if (found.size() > 1) {
            throw JRestartException.state("overlap restart refused: more than one pid file names this JVM (pid " + pid
                    + "): " + found + "; say which one the init script reads with pidfile:");
        }
        return writable(new PidFile(found.get(0), "found in " + found.get(0).getParent() + ", it holds this JVM's pid"));
    }

    private static void collect(Path dir, int pid, List<Path> found, boolean descend) {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                if (Files.isSymbolicLink(entry)) continue;
                if (descend && Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                    collect(entry, pid, found, false);
                } else if (entry.getFileName().toString().endsWith(".pid")
                        && Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
                    Integer named = pidIn(entry);
                    if (named != null && named == pid) found.add(entry);
                }
            }
        } catch (IOException | SecurityException e) {
            // A directory this JVM may not read holds no pid file it could rewrite.
        }
    }

    private static PidFile writable(PidFile file) throws JRestartException {
        Path dir = file.path.getParent();
        if (!Files.isWritable(dir)) {
            throw JRestartException.state("overlap restart refused: the pid file " + file.path + " names this JVM, but"
                    + " its directory " + dir + " is not writable by it, so the new JVM's pid cannot replace it there");
        }
        return file;
    }

    /** The pid a pid file holds (its first line), or null. */
    private static Integer pidIn(Path path) {
        try {
            byte[] bytes = Files.readAllBytes(path);
            if (bytes.length > LIMIT) return null;
            String text = new String(bytes, StandardCharsets.US_ASCII).trim();
            return text.matches("[1-9][0-9]{0,9}") ? Integer.valueOf(text) : null;
        } catch (IOException | NumberFormatException | SecurityException e) {
            return null;
        }
    }

    /** Writes pid into the file, atomically, keeping its owner and mode. */
    public void replace(int pid) throws JRestartException {
        Path temp = path.resolveSibling("." + path.getFileName() + ".jrestart-" + pid);
        try {
            Files.deleteIfExists(temp);
            Files.write(temp, (pid + "\n").getBytes(StandardCharsets.US_ASCII), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            PosixFileAttributes was = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            PosixFileAttributeView view = Files.getFileAttributeView(temp, PosixFileAttributeView.class);
            view.setPermissions(was.permissions());
            // Only root can give a file away; a file this JVM wrote is its own already.
            PosixFileAttributes made = view.readAttributes();
            if (!made.owner().equals(was.owner())) view.setOwner(was.owner());
            if (!made.group().equals(was.group())) view.setGroup(was.group());
            Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // Nothing more to undo: the pid file itself was not touched.
            }
            throw JRestartException.state("the pid file " + path + " cannot be rewritten with pid " + pid + ": " + e);
        }
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
