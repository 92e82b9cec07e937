package org.jrestart.core;

/** A failed system call: the errno and what it was done to (a command, a path, an fd). */
public final class PosixException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int errno;
    private final String subject;

    public PosixException(int errno, String subject) {
        super(subject + " (errno " + errno + ")");
        this.errno = errno;
        this.subject = subject;
    }

    public int errno() {
        return errno;
    }

    public String subject() {
        return subject;
    }
}
