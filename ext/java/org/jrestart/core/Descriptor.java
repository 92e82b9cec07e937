package org.jrestart.core;

/** One open descriptor of this process, as seen in /proc/self/fd. */
public final class Descriptor {
    public final int fd;
    public final FileType type;
    public final String target;
    public final boolean closeOnExec;

    Descriptor(int fd, FileType type, String target, boolean closeOnExec) {
        this.fd = fd;
        this.type = type;
        this.target = target;
        this.closeOnExec = closeOnExec;
    }
}
