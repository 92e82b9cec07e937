package org.jrestart.core.posix;

import com.kenai.jffi.Library;
import jnr.constants.platform.Errno;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Loads libc once. Every symbol the restart path calls is looked up here, at
 * load time, so a restart cannot fail later because a symbol is missing;
 * optional glibc extensions are null where absent. On a platform the core
 * does not support everything is null and UNAVAILABLE says why: loading never
 * throws, since any use of this class (even Native.text) initializes it.
 */
public final class Native {
    public static final LibC LIBC;
    public static final Runtime RUNTIME;
    public static final LibC.CloseFromNp CLOSEFROM;
    public static final LibC.ChdirNp CHDIR;
    static final LibC.Fstat FSTAT;
    static final LibC.Fxstat FXSTAT;
    public static final LibC.CloseRange CLOSE_RANGE;
    public static final LibC.Pidfd PIDFD;
    /** Why the core cannot work here; null on a supported platform. */
    static final String UNAVAILABLE;

    // Names listed in this system property are treated as absent from libc, so
    // that the specs can run the fallbacks an older glibc needs (fstat before
    // 2.33, addclosefrom_np and close_range before 2.34, addchdir_np before 2.29,
    // pidfd_open before 2.36) on this one.
    private static final List<String> HIDDEN = Arrays.asList(System.getProperty("jrestart.hide_symbols", "").split(","));

    public static final int EINTR = Errno.EINTR.intValue();
    public static final int EBADF = Errno.EBADF.intValue();
    public static final int EAGAIN = Errno.EAGAIN.intValue();
    public static final int ECHILD = Errno.ECHILD.intValue();
    public static final int EMFILE = Errno.EMFILE.intValue();

    static {
        Platform platform = Platform.getNativePlatform();
        String name = platform.getStandardCLibraryName();
        String why = null;
        LibC libc = null;
        // posix_spawn's flags, struct stat and /proc are Linux's: elsewhere
        // even a libc that loads would give wrong answers.
        if (platform.getOS() != Platform.OS.LINUX) {
            why = "jrestart relies on Linux's posix_spawn flags, struct stat and /proc";
        } else if (!StatLayout.known(platform)) {
            why = "jrestart knows no struct stat layout for " + platform.getCPU();
        } else {
            try {
                List<String> absent = missing(LibC.class, name);
                if (absent.isEmpty()) libc = LibraryLoader.create(LibC.class).load(name);
                else why = name + " lacks " + String.join(", ", absent);
            } catch (UnsatisfiedLinkError e) {
                why = e.getMessage();
            }
        }
        UNAVAILABLE = why;
        LIBC = libc;
        RUNTIME = libc == null ? null : Runtime.getRuntime(libc);
        CLOSEFROM = optional(libc, LibC.CloseFromNp.class, name);
        CHDIR = optional(libc, LibC.ChdirNp.class, name);
        LibC.Fstat fstat = optional(libc, LibC.Fstat.class, name);
        FSTAT = fstat;
        FXSTAT = fstat == null ? optional(libc, LibC.Fxstat.class, name) : null;
        CLOSE_RANGE = optional(libc, LibC.CloseRange.class, name);
        PIDFD = optional(libc, LibC.Pidfd.class, name);
    }

    private Native() {
    }

    /**
     * The binding, or null when the library lacks one of its functions.
     * jnr-ffi would bind a missing function to a stub that throws only when
     * called, which for a restart is too late.
     */
    private static <T> T optional(LibC libc, Class<T> type, String name) {
        return libc != null && missing(type, name).isEmpty() ? LibraryLoader.create(type).load(name) : null;
    }

    private static List<String> missing(Class<?> type, String name) {
        Library library = Library.getCachedInstance(name, Library.LAZY | Library.GLOBAL);
        if (library == null) throw new UnsatisfiedLinkError(name + ": " + Library.getLastError());
        List<String> absent = new ArrayList<String>();
        for (Method method : type.getDeclaredMethods()) {
            String symbol = method.getName();
            if (HIDDEN.contains(symbol) || library.getSymbolAddress(symbol) == 0L) absent.add(symbol);
        }
        return absent;
    }

    public static int errno() {
        return RUNTIME.getLastError();
    }

    /** Bytes for a message; invalid UTF-8 shows as replacement characters. */
    public static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Text as the bytes a path or argument is passed to the kernel as. */
    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** A NUL-terminated copy of bytes that must not contain NUL themselves. */
    public static byte[] cString(byte[] bytes, String what) throws JRestartException {
        checkCString(bytes, what);
        return Arrays.copyOf(bytes, bytes.length + 1);
    }

    /** A constant C string, known to hold no NUL. */
    public static byte[] cString(String text) {
        byte[] bytes = bytes(text);
        return Arrays.copyOf(bytes, bytes.length + 1);
    }

    public static void checkCString(byte[] bytes, String what) throws JRestartException {
        for (byte b : bytes) {
            if (b == 0) throw JRestartException.invalid(what + " contains a NUL byte");
        }
    }

    public static void checkCStrings(List<byte[]> strings, String what) throws JRestartException {
        for (byte[] s : strings) checkCString(s, what);
    }

    /** cString in native memory, for calls that must not copy their arguments (the forked child's). */
    public static Pointer cStringMemory(byte[] bytes, String what) throws JRestartException {
        byte[] c = cString(bytes, what);
        Pointer memory = Memory.allocateDirect(RUNTIME, c.length, true);
        memory.put(0, c, 0, c.length);
        return memory;
    }

    /**
     * A NULL-terminated char *[] and its strings in one native block, so that
     * the one Pointer passed to the call keeps every string alive.
     */
    public static Pointer cStringArray(List<byte[]> strings, String what) throws JRestartException {
        int word = RUNTIME.addressSize();
        byte[][] cs = new byte[strings.size()][];
        long size = (long) (cs.length + 1) * word;
        for (int i = 0; i < cs.length; i++) {
            cs[i] = cString(strings.get(i), what);
            size += cs[i].length;
        }
        Pointer block = Memory.allocateDirect(RUNTIME, size, true);
        long offset = (long) (cs.length + 1) * word;
        for (int i = 0; i < cs.length; i++) {
            block.put(offset, cs[i], 0, cs[i].length);
            block.putAddress((long) i * word, block.address() + offset);
            offset += cs[i].length;
        }
        return block;
    }
}
