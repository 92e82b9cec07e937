package org.jrestart.core;

/**
 * Linux and glibc values that jnr-constants does not carry, written once here.
 * They are the same on x86_64 and aarch64, the platforms the core supports.
 */
final class Linux {
    static final int FD_CLOEXEC = 1;
    static final int F_DUPFD_CLOEXEC = 1030;
    static final int SIG_SETMASK = 2;
    static final short POLLIN = 1;
    static final int O_PATH = 010000000;
    static final int CLOCK_MONOTONIC = 1;
    // <spawn.h>
    static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    static final short POSIX_SPAWN_SETSID = 0x80;

    private Linux() {
    }
}
