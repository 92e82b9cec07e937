package org.jrestart.core.launch;

import org.jrestart.core.posix.Descriptor;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.FileType;
import org.jrestart.core.posix.JRestartException;

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

    public boolean untouched(int fd) {
        return Arrays.binarySearch(untouched, fd) >= 0;
    }

    public boolean kept(int fd) {
        return Arrays.binarySearch(keep, fd) >= 0;
    }
}
