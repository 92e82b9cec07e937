package org.jrestart.core.launch;

import jnr.constants.platform.Errno;
import jnr.constants.platform.Fcntl;
import org.jrestart.core.posix.Descriptor;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.FileType;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Linux;
import org.jrestart.core.posix.Native;

import java.util.Arrays;
import java.util.List;

/**
 * Which of this process's descriptors above 2 a new program keeps: the one
 * decision behind a plan's descriptor table, the spawn's file actions, the
 * forked child's closes and an exec in place. Every descriptor above 2 that
 * is not untouched() is closed (an exec in place marks it close-on-exec),
 * including descriptors other threads open after the decision was made.
 */
public final class Inheritance {
    private static final int F_GETFD = Fcntl.F_GETFD.intValue();
    private static final int EBADF = Errno.EBADF.intValue();
    private static final int EMFILE = Errno.EMFILE.intValue();
    private static final int EINVAL = Errno.EINVAL.intValue();

    /** Named by keep: inherited even where the JVM marked them close-on-exec. Sorted. */
    final int[] keep;
    /**
     * With close: :sockets, the descriptors that were open and not sockets when
     * listed: left as they are (close-on-exec ones still close at exec). A
     * socket opened meanwhile by another thread is not among them, so it is
     * closed. Sorted.
     */
    final int[] spare;
    /** keep and spare together, sorted. */
    final int[] untouched;

    private Inheritance(int[] keep, int[] spare) {
        this.keep = keep;
        this.spare = spare;
        int[] all = Arrays.copyOf(keep, keep.length + spare.length);
        System.arraycopy(spare, 0, all, keep.length, spare.length);
        Arrays.sort(all);
        this.untouched = all;
    }

    /** For close: :all, or an exec in place: only keep. */
    public static Inheritance keeping(int[] keep) {
        return new Inheritance(keep, new int[0]);
    }

    /** For close: :sockets, from a fresh look at every open descriptor. */
    public static Inheritance sparingNonSockets(int[] keep) throws JRestartException {
        int[] fds = Descriptors.numbers();
        int count = 0;
        for (int fd : fds) {
            if (fd > 2 && Arrays.binarySearch(keep, fd) < 0) {
                FileType type = Descriptors.typeOf(fd);
                if (type != null && type != FileType.SOCKET) fds[count++] = fd;
            }
        }
        return new Inheritance(keep, Arrays.copyOf(fds, count));
    }

    /** For close: :sockets, from descriptors already listed (a plan's table). */
    public static Inheritance sparingNonSockets(int[] keep, List<Descriptor> listed) {
        int[] fds = new int[listed.size()];
        int count = 0;
        for (Descriptor d : listed) {
            if (d.fd > 2 && Arrays.binarySearch(keep, d.fd) < 0 && d.type != FileType.SOCKET) fds[count++] = d.fd;
        }
        return new Inheritance(keep, Arrays.copyOf(fds, count));
    }

    /**
     * Holds each spared descriptor that would survive the exec (not
     * close-on-exec) by a close-on-exec duplicate above every untouched number,
     * and looks at that duplicate's type: a number is only a name, and another
     * thread may close a listed file and open a socket under its number before
     * the child starts. The child dup2s each duplicate onto its number, so it
     * gets exactly the file that was looked at, never a socket. In a table full
     * up to its limit there is no room for a duplicate: such a file is passed
     * by its number, as listed. So a launch pins last, once it holds every
     * descriptor it needs itself: the duplicates may take the table's last slots.
     */
    Pinned pin(byte[] command) throws JRestartException {
        int[] from = new int[spare.length];
        int[] to = new int[spare.length];
        int[] unpinned = new int[spare.length];
        int count = 0;
        int left = 0;
        int floor = untouched.length == 0 ? 3 : untouched[untouched.length - 1] + 1;
        try {
            for (int fd : spare) {
                int flags = Native.LIBC.fcntl(fd, F_GETFD, 0);
                // Closed meanwhile, or closed by the exec anyway: the child closes the number.
                if (flags == -1 || (flags & Linux.FD_CLOEXEC) != 0) continue;
                int copy = Native.LIBC.fcntl(fd, Linux.F_DUPFD_CLOEXEC, floor);
                if (copy < 0) {
                    int errno = Native.errno();
                    if (errno == EBADF) continue;
                    if (errno == EMFILE || errno == EINVAL) {
                        unpinned[left++] = fd;
                        continue;
                    }
                    throw JRestartException.errno(errno, "fcntl(F_DUPFD_CLOEXEC) holding fd " + fd
                            + " for the child (close: :sockets keeps every descriptor that is not a socket; launching "
                            + Native.text(command) + ")");
                }
                from[count] = copy;
                to[count++] = fd;
                FileType type = Descriptors.typeOf(copy);
                if (type == null || type == FileType.SOCKET) Native.LIBC.close(from[--count]);
            }
        } catch (JRestartException | RuntimeException e) {
            for (int i = 0; i < count; i++) Native.LIBC.close(from[i]);
            throw e;
        }
        int[] spared = Arrays.copyOf(to, count + left);
        System.arraycopy(unpinned, 0, spared, count, left);
        Arrays.sort(spared);
        return new Pinned(new Inheritance(keep, spared), Arrays.copyOf(from, count), Arrays.copyOf(to, count));
    }

    /** A launch's inheritance with its spared descriptors held: from[i] goes onto to[i] in the child. */
    static final class Pinned implements AutoCloseable {
        final Inheritance inheritance;
        final int[] from;
        final int[] to;

        Pinned(Inheritance inheritance, int[] from, int[] to) {
            this.inheritance = inheritance;
            this.from = from;
            this.to = to;
        }

        @Override
        public void close() {
            for (int fd : from) Native.LIBC.close(fd);
        }
    }

    public boolean untouched(int fd) {
        return Arrays.binarySearch(untouched, fd) >= 0;
    }

    public boolean kept(int fd) {
        return Arrays.binarySearch(keep, fd) >= 0;
    }
}
