package org.jrestart.core.posix;

/** One open descriptor of this process, as seen in /proc/self/fd. */
public final class Descriptor {
    public final int fd;
    public final FileType type;
    public final String target;
    public final boolean closeOnExec;
    /** For a socket, what it is bound to; null otherwise. */
    public final SocketInfo socket;

    Descriptor(int fd, FileType type, String target, boolean closeOnExec, SocketInfo socket) {
        this.fd = fd;
        this.type = type;
        this.target = target;
        this.closeOnExec = closeOnExec;
        this.socket = socket;
    }
}
