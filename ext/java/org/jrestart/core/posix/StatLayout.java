package org.jrestart.core.posix;

import jnr.ffi.Platform;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;

/**
 * One struct stat layout of one ABI, read straight from the native buffer
 * fstat filled. Subclasses declare the fields in C order.
 */
abstract class StatLayout extends Struct {
    StatLayout(Runtime runtime) {
        super(runtime);
    }

    /** st_mode alone, so socket? reads one field and copies nothing. */
    abstract int mode();

    abstract Stat toStat();

    /** The version argument __fxstat wants for this layout (glibc's _STAT_VER). */
    abstract int statVersion();

    /** Whether the gem knows this platform's struct stat. */
    static boolean known(Platform platform) {
        return platform.getOS() == Platform.OS.LINUX
                && (platform.getCPU() == Platform.CPU.X86_64 || platform.getCPU() == Platform.CPU.AARCH64);
    }

    /** A new layout for this platform, or null where the gem knows no layout: never guess one. */
    static StatLayout forPlatform(Runtime runtime, Platform platform) {
        if (!known(platform)) return null;
        switch (platform.getCPU()) {
            case X86_64:
                return new LinuxX86_64Stat(runtime);
            case AARCH64:
                return new LinuxAarch64Stat(runtime);
            default:
                return null;
        }
    }
}
