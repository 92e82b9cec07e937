package org.jrestart.core;

import jnr.constants.platform.Errno;
import jnr.constants.platform.OpenFlags;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.byref.IntByReference;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Starts a command detached from this process, by default with posix_spawn: no
 * Java code runs in the child and nothing is copied from the heap, so the cost
 * does not grow with the JVM's size (Forker has the fork strategy). Everything
 * that can be checked is checked before the start, so that a bad request
 * starts nothing.
 */
public final class Launcher {
    // <spawn.h> flags on Linux (glibc).
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    private static final short POSIX_SPAWN_SETSID = 0x80;

    // Room for glibc's posix_spawnattr_t (336 bytes), posix_spawn_file_actions_t
    // (80) and sigset_t (128), with a margin: they are opaque to us.
    private static final int OPAQUE_SIZE = 1024;

    private static final int F_OK = 0;
    private static final int X_OK = 1;
    private static final int EACCES = Errno.EACCES.intValue();
    private static final int ENOENT = Errno.ENOENT.intValue();
    private static final int O_RDONLY = OpenFlags.O_RDONLY.intValue();
    private static final int O_WRONLY = OpenFlags.O_WRONLY.intValue();
    private static final int O_CLOEXEC = OpenFlags.O_CLOEXEC.intValue();
    private static final int O_DIRECTORY = OpenFlags.O_DIRECTORY.intValue();
    // The log is appended to, never truncated, and a symlink planted at its path is refused.
    private static final int LOG_FLAGS = O_WRONLY | OpenFlags.O_APPEND.intValue() | OpenFlags.O_CREAT.intValue()
            | OpenFlags.O_NOFOLLOW.intValue() | O_CLOEXEC;
    private static final int LOG_MODE = 0640;
    private static final int F_DUPFD_CLOEXEC = 1030;

    private static final byte[] DEV_NULL = Native.cString(bytes("/dev/null"), "path");
    private static final byte[] SH = bytes("/bin/sh");

    private Launcher() {
    }

    public static Child launch(LaunchRequest request) throws PosixException {
        byte[] path = resolve(request.command, request.searchPath);
        List<byte[]> argv = argv(request, path);
        Pointer argvp = Native.cStringArray(argv, "argument");
        Pointer envp = Native.cStringArray(request.env, "environment entry");
        byte[] executable = Native.cString(argv.get(0), "command");
        byte[] chdir = Native.cString(request.chdir, "chdir");
        int[] keep;
        int logFd;
        try {
            checkDirectory(request.chdir);
            keep = checkKeep(request.keep);
            // Opened last: nothing after it can refuse the request before the spawn.
            logFd = request.log == null ? -1 : openLog(request.log);
        } catch (PosixException e) {
            throw new PosixException(e.errno(), e.subject() + " (launching " + Native.text(request.command) + ")");
        }

        Child.Reservation reaping = null;
        Child child = null;
        try {
            reaping = Child.Reservation.take(request.command);
            if (request.strategy == Strategy.FORK) {
                child = fork(request, path, argv.get(0), argvp, envp, keep, logFd);
            } else {
                try (SpawnSetup setup = new SpawnSetup(logFd, chdir, request.close, keep)) {
                    IntByReference pid = new IntByReference();
                    int rc = Native.LIBC.posix_spawn(pid, executable, setup.actions, setup.attr, argvp, envp);
                    if (rc != 0) throw new PosixException(rc, Native.text(request.command));
                    child = new Child(pid.intValue(), request.command, path);
                }
            }
            reaping.watch(child);
            return child;
        } finally {
            if (child == null && reaping != null) reaping.giveBack();
            if (logFd >= 0) Native.LIBC.close(logFd);
        }
    }

    private static Child fork(LaunchRequest request, byte[] path, byte[] executable, Pointer argvp, Pointer envp,
                              int[] keep, int logFd) throws PosixException {
        Forker.Plan plan = new Forker.Plan();
        plan.path = Native.cStringMemory(executable, "command");
        plan.argv = argvp;
        plan.envp = envp;
        plan.chdir = Native.cStringMemory(request.chdir, "chdir");
        plan.close = request.close;
        plan.keep = keep;
        try {
            plan.stdin = openStdio(O_RDONLY);
            plan.stdout = logFd >= 0 ? logFd : openStdio(O_WRONLY);
            return Forker.start(request.command, path, plan);
        } finally {
            if (plan.stdin >= 0) Native.LIBC.close(plan.stdin);
            if (plan.stdout >= 0 && plan.stdout != logFd) Native.LIBC.close(plan.stdout);
        }
    }

    private static int openStdio(int flags) throws PosixException {
        int fd = Native.LIBC.open(DEV_NULL, flags | O_CLOEXEC, 0);
        if (fd < 0) throw new PosixException(Native.errno(), "/dev/null");
        return aboveStdio(fd);
    }

    /**
     * fd itself, or a close-on-exec copy above 2 when it is 0, 1 or 2 (a service
     * started with stdio closed): the child's stdio is dup2'ed over those.
     */
    static int aboveStdio(int fd) throws PosixException {
        if (fd > 2) return fd;
        int moved = Native.LIBC.fcntl(fd, F_DUPFD_CLOEXEC, 3);
        int errno = Native.errno();
        Native.LIBC.close(fd);
        if (moved < 0) throw new PosixException(errno, "fcntl(F_DUPFD_CLOEXEC)");
        return moved;
    }

    /** Whether glibc closes the child's descriptors itself (addclosefrom_np, glibc 2.34+). */
    public static boolean hasCloseFrom() {
        return Native.CLOSEFROM != null;
    }

    /** Whether a forked child closes descriptors with close_range (glibc 2.34+), else one by one. */
    public static boolean hasCloseRange() {
        return Native.CLOSE_RANGE != null;
    }

    /** Whether glibc sets the child's cwd itself (addchdir_np, glibc 2.29+); else /bin/sh does. */
    public static boolean hasChdir() {
        return Native.CHDIR != null;
    }

    /**
     * Loads libc and every class a launch, a plan or a re-exec uses, and builds (without spawning)
     * the attributes and file actions of a launch, so that the first restart
     * neither loads a class nor meets a libc call for the first time. A gem
     * upgraded on disk before the restart cannot break it.
     */
    public static void prepare() throws PosixException {
        new SpawnSetup(-1, Native.cString(new byte[] {'/'}, "chdir"), CloseMode.ALL, new int[0]).close();
        // What JRestart.plan and reexec! use is loaded now as well.
        if (Descriptors.statSupported() && new File("/proc/self/fd").isDirectory()) Descriptors.list();
        SocketInfo.of(-1);
        Reexec.class.getName();
        Native.cStringArray(new ArrayList<byte[]>(), "argument");
        new IntByReference();
        Child.prepare();
        Forker.prepare();
    }

    /** posix_spawn's attributes and file actions for one launch, destroyed by close(). */
    private static final class SpawnSetup implements AutoCloseable {
        final Pointer attr = Memory.allocateDirect(Native.RUNTIME, OPAQUE_SIZE, true);
        final Pointer actions = Memory.allocateDirect(Native.RUNTIME, OPAQUE_SIZE, true);
        private boolean attrReady;
        private boolean actionsReady;

        SpawnSetup(int logFd, byte[] chdir, CloseMode close, int[] keep) throws PosixException {
            try {
                check(Native.LIBC.posix_spawnattr_init(attr), "posix_spawnattr_init");
                attrReady = true;
                check(Native.LIBC.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
                actionsReady = true;
                // The JVM blocks signals in its threads and Ruby code may ignore some
                // (SIGHUP under nohup): the restart command must start with neither.
                check(Native.LIBC.posix_spawnattr_setsigdefault(attr, Signals.FULL_SET),
                        "posix_spawnattr_setsigdefault");
                check(Native.LIBC.posix_spawnattr_setsigmask(attr, Signals.EMPTY_SET), "posix_spawnattr_setsigmask");
                // A new session: the command must not die with the service's process group or terminal.
                check(Native.LIBC.posix_spawnattr_setflags(attr,
                        (short) (POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)),
                        "posix_spawnattr_setflags");
                addStdio(actions, logFd);
                if (Native.CHDIR != null) {
                    check(Native.CHDIR.posix_spawn_file_actions_addchdir_np(actions, chdir), "addchdir_np");
                }
                addCloses(actions, close, keep);
            } catch (PosixException | RuntimeException e) {
                close();
                throw e;
            }
        }

        @Override
        public void close() {
            if (actionsReady) Native.LIBC.posix_spawn_file_actions_destroy(actions);
            if (attrReady) Native.LIBC.posix_spawnattr_destroy(attr);
            actionsReady = attrReady = false;
        }
    }

    /** The file a command names: an absolute path as it is, a bare name from the search path. */
    public static byte[] resolve(byte[] command, byte[] searchPath) throws PosixException {
        String shown = Native.text(command);
        if (command.length == 0) throw new IllegalArgumentException("the command is empty");
        if (indexOf(command, (byte) '/', 0) >= 0) {
            if (command[0] != '/') {
                throw new IllegalArgumentException("command " + shown
                        + " is a relative path: give an absolute path, or a bare name to look up in PATH");
            }
            int errno = executableErrno(command);
            if (errno != 0) throw new PosixException(errno, shown);
            return command;
        }
        int errno = ENOENT;
        for (byte[] dir : split(searchPath)) {
            byte[] candidate = dir.length == 0 ? command : new byte[dir.length + 1 + command.length];
            if (dir.length > 0) {
                System.arraycopy(dir, 0, candidate, 0, dir.length);
                candidate[dir.length] = '/';
                System.arraycopy(command, 0, candidate, dir.length + 1, command.length);
            }
            int found = executableErrno(candidate);
            // A relative entry (an empty one is ".") makes what runs depend on the
            // service's cwd: where a shell would run such a file, refuse instead.
            if (found == 0 && (dir.length == 0 || dir[0] != '/')) {
                throw new IllegalArgumentException("command " + shown + " would be found through the relative PATH"
                        + " entry \"" + Native.text(dir) + "\" (from the service's cwd): give an absolute path, or take"
                        + " relative entries out of PATH");
            }
            if (found == 0) return candidate;
            if (found == EACCES) errno = EACCES;
        }
        throw new PosixException(errno, shown + " (looked up in PATH=" + Native.text(searchPath) + ")");
    }

    /** 0 when execve could run path, else the errno it would fail with. */
    private static int executableErrno(byte[] path) {
        byte[] c = Native.cString(path, "command");
        if (Native.LIBC.access(c, F_OK) != 0) return Native.errno();
        if (Native.LIBC.access(c, X_OK) != 0) return Native.errno();
        // access() passes directories, which execve refuses with EACCES.
        int fd = Native.LIBC.open(c, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd >= 0) {
            Native.LIBC.close(fd);
            return EACCES;
        }
        return 0;
    }

    private static void checkDirectory(byte[] dir) throws PosixException {
        String shown = Native.text(dir);
        if (dir.length == 0 || dir[0] != '/') {
            throw new IllegalArgumentException("chdir must be an absolute path, got " + shown);
        }
        byte[] c = Native.cString(dir, "chdir");
        int fd = Native.LIBC.open(c, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) throw new PosixException(Native.errno(), "chdir " + shown);
        Native.LIBC.close(fd);
        if (Native.LIBC.access(c, X_OK) != 0) throw new PosixException(Native.errno(), "chdir " + shown);
    }

    /** keep, sorted, once each is known to be an open descriptor above 2. */
    public static int[] checkKeep(int[] keep) throws PosixException {
        int[] sorted = keep.clone();
        Arrays.sort(sorted);
        for (int fd : sorted) {
            if (fd <= 2) {
                throw new IllegalArgumentException("keep: fd " + fd
                        + " is stdin, stdout or stderr; the child's are /dev/null or the log");
            }
            if (!Descriptors.isOpen(fd)) throw new PosixException(Native.EBADF, "keep: fd " + fd);
        }
        return sorted;
    }

    private static int openLog(byte[] log) throws PosixException {
        int fd = Native.LIBC.open(Native.cString(log, "log"), LOG_FLAGS, LOG_MODE);
        if (fd < 0) throw new PosixException(Native.errno(), "log " + Native.text(log));
        return aboveStdio(fd);
    }

    /**
     * argv for the child. With a delay (or without addchdir_np for a spawn) the command is
     * started through /bin/sh, which sleeps and then execs it with its arguments
     * as positional parameters: they are never parsed by the shell, and the sleep
     * happens in the detached child, so it survives the JVM.
     */
    private static List<byte[]> argv(LaunchRequest request, byte[] path) {
        List<byte[]> argv = new ArrayList<byte[]>();
        StringBuilder script = new StringBuilder();
        List<byte[]> params = new ArrayList<byte[]>();
        if (request.delaySeconds > 0) {
            script.append("sleep \"$1\" || exit 127; shift; ");
            params.add(bytes(String.format(Locale.ROOT, "%.3f", request.delaySeconds)));
        }
        if (request.strategy == Strategy.SPAWN && Native.CHDIR == null) {
            script.append("cd -- \"$1\" || exit 127; shift; ");
            params.add(request.chdir);
        }
        if (script.length() > 0) {
            argv.add(SH);
            argv.add(bytes("-c"));
            argv.add(bytes(script.append("exec \"$@\"").toString()));
            argv.add(bytes("jrestart"));
            argv.addAll(params);
        }
        argv.add(path);
        argv.addAll(request.args);
        return argv;
    }

    private static void addStdio(Pointer actions, int logFd) throws PosixException {
        check(Native.LIBC.posix_spawn_file_actions_addopen(actions, 0, DEV_NULL, O_RDONLY, 0), "addopen stdin");
        if (logFd >= 0) {
            check(Native.LIBC.posix_spawn_file_actions_adddup2(actions, logFd, 1), "adddup2 stdout");
        } else {
            check(Native.LIBC.posix_spawn_file_actions_addopen(actions, 1, DEV_NULL, O_WRONLY, 0), "addopen stdout");
        }
        check(Native.LIBC.posix_spawn_file_actions_adddup2(actions, 1, 2), "adddup2 stderr");
    }

    private static void addCloses(Pointer actions, CloseMode mode, int[] keep) throws PosixException {
        for (int fd : keep) {
            // dup2 onto itself clears FD_CLOEXEC in the child (glibc 2.29+): a kept
            // descriptor survives the exec even where the parent marked it close-on-exec.
            check(Native.LIBC.posix_spawn_file_actions_adddup2(actions, fd, fd), "adddup2 keep " + fd);
        }
        if (mode == CloseMode.SOCKETS) {
            for (int fd : Descriptors.socketsExcept(keep)) {
                check(Native.LIBC.posix_spawn_file_actions_addclose(actions, fd), "addclose " + fd);
            }
            return;
        }
        // Every number between kept descriptors is closed whether or not it is open
        // now: another thread may open one before the spawn.
        int next = 3;
        for (int fd : keep) {
            for (int gap = next; gap < fd; gap++) {
                check(Native.LIBC.posix_spawn_file_actions_addclose(actions, gap), "addclose " + gap);
            }
            next = fd + 1;
        }
        if (Native.CLOSEFROM != null) {
            // closefrom in the child closes what is open at exec time, including
            // descriptors opened by other threads after we looked.
            check(Native.CLOSEFROM.posix_spawn_file_actions_addclosefrom_np(actions, next), "addclosefrom_np");
        } else {
            for (int fd : Descriptors.numbers()) {
                if (fd >= next) check(Native.LIBC.posix_spawn_file_actions_addclose(actions, fd), "addclose " + fd);
            }
        }
    }

    private static void check(int rc, String what) throws PosixException {
        if (rc != 0) throw new PosixException(rc, what);
    }

    private static List<byte[]> split(byte[] path) {
        List<byte[]> parts = new ArrayList<byte[]>();
        int start = 0;
        int colon;
        while ((colon = indexOf(path, (byte) ':', start)) >= 0) {
            parts.add(Arrays.copyOfRange(path, start, colon));
            start = colon + 1;
        }
        parts.add(Arrays.copyOfRange(path, start, path.length));
        return parts;
    }

    private static int indexOf(byte[] bytes, byte b, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == b) return i;
        }
        return -1;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
