package org.jrestart.core.posix;

import java.nio.charset.StandardCharsets;

/**
 * Every failure the core reports, with its kind: a failed system call (with
 * its errno), an invalid argument, a platform the core does not support, or a
 * state in which the operation cannot run. Anything else that escapes the core
 * is a bug.
 */
public final class JRestartException extends Exception {
    private static final long serialVersionUID = 1L;

    /** What went wrong, so that a binding can map it to its own error types in one place. */
    public enum Kind {
        /** A system call failed: errno() tells which error. */
        ERRNO,
        /** The request itself is wrong; nothing was done. */
        INVALID_ARGUMENT,
        /** This OS, CPU or libc lacks what the operation needs. */
        UNSUPPORTED,
        /** The operation cannot run now (nothing to restart, /proc unreadable, ...). */
        STATE,
        /** A restart refused by the restart-loop guard: too many restarts of this service too recently. */
        RESTART_LOOP,
        /** A restart refused by one of its restart hooks (it threw): nothing was started. */
        VETOED
    }

    private final Kind kind;
    private final int errno;
    private final String subject;
    private final String command;

    private JRestartException(Kind kind, int errno, String subject, String command) {
        super(kind == Kind.ERRNO ? subject + " (errno " + errno + ")" : subject);
        this.kind = kind;
        this.errno = errno;
        this.subject = subject;
        this.command = command;
    }

    /** A failed system call; subject names what it was done to (a command, a path, an fd). */
    public static JRestartException errno(int errno, String subject) {
        return new JRestartException(Kind.ERRNO, errno, subject, null);
    }

    public static JRestartException invalid(String message) {
        return new JRestartException(Kind.INVALID_ARGUMENT, 0, message, null);
    }

    public static JRestartException unsupported(String message) {
        return new JRestartException(Kind.UNSUPPORTED, 0, message, null);
    }

    public static JRestartException state(String message) {
        return new JRestartException(Kind.STATE, 0, message, null);
    }

    public static JRestartException restartLoop(String message) {
        return new JRestartException(Kind.RESTART_LOOP, 0, message, null);
    }

    public static JRestartException vetoed(String message) {
        return new JRestartException(Kind.VETOED, 0, message, null);
    }

    /** The same failure with more said about where it happened, e.g. " (launching /etc/init.d/svc)". */
    public JRestartException within(String context) {
        return new JRestartException(kind, errno, subject + context, command);
    }

    /** The same failure, known to concern the command named (its first word). */
    public JRestartException command(byte[] name) {
        return command != null ? this : new JRestartException(kind, errno, subject, new String(name, StandardCharsets.UTF_8));
    }

    public Kind kind() {
        return kind;
    }

    /** The errno of an ERRNO failure; 0 for the other kinds. */
    public int errno() {
        return errno;
    }

    /** The command (its first word) the failure concerns; null when it concerns none. */
    public String command() {
        return command;
    }

    /** The message without the errno: what failed, or what is wrong. */
    public String subject() {
        return subject;
    }
}
