package org.jrestart.core.posix;

/**
 * The file type bits of st_mode (S_IFMT), which are the same on every Linux ABI,
 * and the kinds of anonymous inode (epoll, eventfd, ...), whose mode has no type
 * bits: only the /proc/self/fd link says what they are.
 */
public enum FileType {
    FILE("file", 0100000),
    DIRECTORY("directory", 0040000),
    SOCKET("socket", 0140000),
    FIFO("fifo", 0010000),
    CHARACTER_DEVICE("character_device", 0020000),
    BLOCK_DEVICE("block_device", 0060000),
    SYMLINK("symlink", 0120000),
    EPOLL("epoll", "anon_inode:[eventpoll]"),
    EVENTFD("eventfd", "anon_inode:[eventfd]"),
    INOTIFY("inotify", "anon_inode:inotify"),
    TIMERFD("timerfd", "anon_inode:[timerfd]"),
    SIGNALFD("signalfd", "anon_inode:[signalfd]"),
    PIDFD("pidfd", "anon_inode:[pidfd]"),
    ANON_INODE("anon_inode", null),
    UNKNOWN("unknown", -1);

    private static final String ANON_PREFIX = "anon_inode:";

    static final int S_IFMT = 0170000;

    private final String label;
    private final int bits;
    private final String link;

    FileType(String label, int bits) {
        this.label = label;
        this.bits = bits;
        this.link = null;
    }

    /** An anonymous inode's kind, by its /proc/self/fd link; no mode has these bits. */
    FileType(String label, String link) {
        this.label = label;
        this.bits = -1;
        this.link = link;
    }

    /** The name Ruby sees, as a symbol: :file, :socket, ... */
    public String label() {
        return label;
    }

    public static FileType fromMode(int mode) {
        int bits = mode & S_IFMT;
        for (FileType type : values()) {
            if (type.bits == bits) return type;
        }
        return UNKNOWN;
    }

    /** The type from the mode, or for an anonymous inode (no type bits) from its /proc/self/fd link. */
    static FileType of(int mode, String link) {
        if (!hasNoType(mode) || link == null || !link.startsWith(ANON_PREFIX)) return fromMode(mode);
        for (FileType anon : values()) {
            if (link.equals(anon.link)) return anon;
        }
        return ANON_INODE;
    }

    static boolean hasNoType(int mode) {
        return (mode & S_IFMT) == 0;
    }

    static boolean isSocket(int mode) {
        return (mode & S_IFMT) == SOCKET.bits;
    }
}
