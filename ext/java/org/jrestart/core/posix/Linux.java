package org.jrestart.core.posix;

/**
 * Linux and glibc values that jnr-constants does not carry, written once here.
 * They are the same on x86_64 and aarch64, the platforms the core supports.
 */
public final class Linux {
    public static final int FD_CLOEXEC = 1;
    public static final int F_DUPFD_CLOEXEC = 1030;
    public static final int SIG_SETMASK = 2;
    public static final short POLLIN = 1;
    public static final int O_PATH = 010000000;
    public static final int CLOCK_MONOTONIC = 1;
    // <spawn.h>
    public static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    public static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    public static final short POSIX_SPAWN_SETSID = 0x80;

    private Linux() {
    }
}
