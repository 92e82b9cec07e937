package org.jrestart.core.posix;

import jnr.constants.platform.Fcntl;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Struct;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** fstat and friends on raw descriptors of this process. */
public final class Descriptors {
    private static final int F_GETFD = Fcntl.F_GETFD.intValue();

    // One stat buffer per thread: socket? is called per descriptor in loops
    // and should not allocate native memory each time.
    private static final ThreadLocal<StatLayout> BUFFER = new ThreadLocal<StatLayout>() {
        @Override
        protected StatLayout initialValue() {
            if (Native.FSTAT == null && Native.FXSTAT == null) return null;
            StatLayout layout = StatLayout.forPlatform(Native.RUNTIME, Platform.getNativePlatform());
            if (layout != null) layout.useMemory(Memory.allocateDirect(Native.RUNTIME, Struct.size(layout), true));
            return layout;
        }
    };

    private Descriptors() {
    }

    /** True where the gem knows this platform's struct stat; elsewhere fstat refuses rather than guess. */
    public static boolean statSupported() {
        return BUFFER.get() != null;
    }

    /** The libc function behind fstat: "fstat", "__fxstat", or null when there is neither. */
    public static String fstatSymbol() {
        return Native.FSTAT != null ? "fstat" : Native.FXSTAT != null ? "__fxstat" : null;
    }

    /** The struct stat layout in use, such as "LinuxX86_64Stat"; null on an unknown platform. */
    public static String statLayout() {
        StatLayout layout = BUFFER.get();
        return layout == null ? null : layout.getClass().getSimpleName();
    }

    public static Stat fstat(int fd) throws JRestartException {
        Support.require("fstat");
        if (fd < 0) throw JRestartException.errno(Native.EBADF, "fstat(" + fd + ")");
        StatLayout layout = filled(fd);
        if (layout == null) throw JRestartException.errno(Native.errno(), "fstat(" + fd + ")");
        Stat stat = layout.toStat();
        if (FileType.hasNoType(stat.mode)) stat.anonymous = FileType.of(stat.mode, link(fd));
        return stat;
    }

    /** A closed or invalid descriptor is simply not a socket. */
    public static boolean isSocket(int fd) throws JRestartException {
        Support.require("socket?");
        StatLayout layout = filled(fd);
        return layout != null && FileType.isSocket(layout.mode());
    }

    /** The type of what fd refers to; null when fd is not open. */
    public static FileType typeOf(int fd) throws JRestartException {
        StatLayout layout = filled(fd);
        return layout == null ? null : FileType.fromMode(layout.mode());
    }

    public static boolean isOpen(int fd) {
        return fd >= 0 && Native.LIBC.fcntl(fd, F_GETFD, 0) != -1;
    }

    /** The open descriptors, in order; those closed while being listed are left out. */
    public static List<Descriptor> list() throws JRestartException {
        Support.require("listing descriptors");
        List<Descriptor> result = new ArrayList<Descriptor>();
        for (int fd : numbers()) {
            int flags = Native.LIBC.fcntl(fd, F_GETFD, 0);
            StatLayout layout = filled(fd);
            if (flags == -1 || layout == null) continue;
            String target = link(fd);
            if (target == null) continue; // closed meanwhile
            FileType type = FileType.of(layout.mode(), target);
            SocketInfo socket = type == FileType.SOCKET ? SocketInfo.of(fd) : null;
            result.add(new Descriptor(fd, type, target, (flags & Linux.FD_CLOEXEC) != 0, socket));
        }
        return result;
    }

    /** What /proc/self/fd/N links to, or null when fd is not open. */
    private static String link(int fd) {
        try {
            return Files.readSymbolicLink(Paths.get("/proc/self/fd/" + fd)).toString();
        } catch (IOException closed) {
            return null;
        }
    }

    /** Descriptor numbers listed in /proc/self/fd, including the one that listing used itself. */
    public static int[] numbers() throws JRestartException {
        String[] names = new File("/proc/self/fd").list();
        if (names == null) throw JRestartException.state("/proc/self/fd cannot be read: is /proc mounted?");
        int[] fds = new int[names.length];
        for (int i = 0; i < names.length; i++) fds[i] = Integer.parseInt(names[i]);
        Arrays.sort(fds);
        return fds;
    }

    /** This thread's buffer filled by fstat(fd), or null when fstat failed (errno is kept). */
    private static StatLayout filled(int fd) throws JRestartException {
        StatLayout layout = BUFFER.get();
        if (layout == null) {
            throw JRestartException.unsupported("jrestart knows no struct stat layout for "
                    + System.getProperty("os.name") + "/" + System.getProperty("os.arch"));
        }
        if (fd < 0) return null;
        Pointer buffer = Struct.getMemory(layout);
        int rc = Native.FSTAT != null
                ? Native.FSTAT.fstat(fd, buffer)
                : Native.FXSTAT.__fxstat(layout.statVersion(), fd, buffer);
        return rc == 0 ? layout : null;
    }
}
