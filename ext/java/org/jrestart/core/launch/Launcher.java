package org.jrestart.core.launch;

import jnr.constants.platform.Access;
import jnr.constants.platform.Errno;
import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
import jnr.constants.platform.Sysconf;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.byref.IntByReference;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.FileType;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Linux;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.Signals;
import org.jrestart.core.posix.SocketInfo;
import org.jrestart.core.posix.Stat;
import org.jrestart.core.posix.Support;

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
    // Room for glibc's posix_spawnattr_t (336 bytes), posix_spawn_file_actions_t
    // (80) and sigset_t (128), with a margin: they are opaque to us.
    private static final int OPAQUE_SIZE = 1024;

    private static final int F_OK = Access.F_OK.intValue();
    private static final int X_OK = Access.X_OK.intValue();
    private static final int W_OK = Access.W_OK.intValue();
    private static final int EACCES = Errno.EACCES.intValue();
    private static final int ENOENT = Errno.ENOENT.intValue();
    private static final int ENOEXEC = Errno.ENOEXEC.intValue();
    private static final int ENXIO = Errno.ENXIO.intValue();
    private static final int O_RDONLY = OpenFlags.O_RDONLY.intValue();
    private static final int O_WRONLY = OpenFlags.O_WRONLY.intValue();
    private static final int O_CLOEXEC = OpenFlags.O_CLOEXEC.intValue();
    private static final int O_DIRECTORY = OpenFlags.O_DIRECTORY.intValue();
    // The log is appended to, never truncated, and a symlink planted at its path is refused.
    private static final int LOG_FLAGS = O_WRONLY | OpenFlags.O_APPEND.intValue() | OpenFlags.O_CREAT.intValue()
            | OpenFlags.O_NOFOLLOW.intValue() | O_CLOEXEC;
    private static final int LOG_MODE = 0640;
    private static final int SC_OPEN_MAX = Sysconf._SC_OPEN_MAX.intValue();
    // Opening a FIFO for writing would otherwise wait for a reader, for ever.
    private static final int O_NONBLOCK = OpenFlags.O_NONBLOCK.intValue();
    private static final int F_GETFL = Fcntl.F_GETFL.intValue();
    private static final int F_SETFL = Fcntl.F_SETFL.intValue();
    // makedev(1, 3): /dev/null, whatever its path.
    private static final long DEV_NULL_RDEV = 0x103;

    private static final byte[] DEV_NULL = Native.cString("/dev/null");
    private static final byte[] SH = bytes("/bin/sh");
    // Where the delay's sleep is taken from: never the child's PATH.
    private static final String[] SLEEP = {"/bin/sleep", "/usr/bin/sleep"};
    private static final String[] SETSID = {"/usr/bin/setsid", "/bin/setsid"};
    private static final byte[] ELF_MAGIC = {0x7f, 'E', 'L', 'F'};

    private Launcher() {
    }

    /**
     * Starts what request says (posix_spawn, or fork for Strategy.FORK).
     * output, when not -1, is the command's stdout and stderr instead of the
     * log or /dev/null.
     */
    public static Child launch(LaunchRequest request, int output) throws JRestartException {
        byte[] command = request.command.get(0);
        List<byte[]> argv = argv(request);
        Pointer argvp = Native.cStringArray(argv, "argument");
        Pointer envp = Native.cStringArray(request.environment, "environment entry");
        int logFd;
        try {
            // Opened first: after it, only a full table or the spawn itself can refuse the request.
            logFd = output >= 0 ? duplicate(output) : request.log == null ? -1 : openLog(request.log);
        } catch (JRestartException e) {
            throw e.within(" (launching " + Native.text(command) + ")");
        }

        Reaping.Reservation reaping = null;
        Child child = null;
        try {
            reaping = Reaping.Reservation.take(command);
            if (request.strategy == Strategy.FORK) {
                child = fork(request, argv.get(0), argvp, envp, logFd);
            } else {
                try (Inheritance.Pinned inheritance = request.inheritance().pin(command);
                     SpawnSetup setup = new SpawnSetup(logFd, request.chdir, inheritance, request.stdio)) {
                    IntByReference pid = new IntByReference();
                    int rc = Native.LIBC.posix_spawn(pid, Native.cString(argv.get(0), "command"), setup.actions,
                            setup.attr, argvp, envp);
                    if (rc != 0) throw JRestartException.errno(rc, Native.text(command));
                    child = new Child(pid.intValue(), command, request.path);
                }
            }
            reaping.watch(child);
            return child;
        } finally {
            if (child == null && reaping != null) reaping.giveBack();
            if (logFd >= 0) Native.LIBC.close(logFd);
        }
    }

    private static Child fork(LaunchRequest request, byte[] executable, Pointer argvp, Pointer envp, int logFd)
            throws JRestartException {
        Forker.ChildSetup setup = new Forker.ChildSetup();
        setup.path = Native.cStringMemory(executable, "command");
        setup.argv = argvp;
        setup.envp = envp;
        setup.chdir = Native.cStringMemory(request.chdir, "chdir");
        setup.inheritance = request.inheritance();
        try {
            setup.stdin = openStdio(O_RDONLY);
            setup.stdout = logFd >= 0 ? logFd : openStdio(O_WRONLY);
            return Forker.start(request.command.get(0), request.path, setup);
        } finally {
            if (setup.stdin >= 0) Native.LIBC.close(setup.stdin);
            if (setup.stdout >= 0 && setup.stdout != logFd) Native.LIBC.close(setup.stdout);
        }
    }

    /** A close-on-exec copy of fd above 2, which the launch may close when it is done. */
    private static int duplicate(int fd) throws JRestartException {
        int copy = Native.LIBC.fcntl(fd, Linux.F_DUPFD_CLOEXEC, 3);
        if (copy < 0) throw JRestartException.errno(Native.errno(), "fcntl(F_DUPFD_CLOEXEC)");
        return copy;
    }

    /** A close-on-exec copy of fd above 2. */
    static int duplicateAbove(int fd) throws JRestartException {
        return duplicate(fd);
    }

    /** /dev/null for reading, close-on-exec, above 2. */
    static int devNull() throws JRestartException {
        return openStdio(O_RDONLY);
    }

    private static int openStdio(int flags) throws JRestartException {
        int fd = Native.LIBC.open(DEV_NULL, flags | O_CLOEXEC, 0);
        if (fd < 0) throw JRestartException.errno(Native.errno(), "/dev/null");
        return aboveStdio(fd);
    }

    /**
     * fd itself, or a close-on-exec copy above 2 when it is 0, 1 or 2 (a service
     * started with stdio closed): the child's stdio is dup2'ed over those.
     */
    static int aboveStdio(int fd) throws JRestartException {
        return above(fd, 3);
    }

    /** fd itself when it is at least floor, else a close-on-exec copy there (fd is closed). */
    static int above(int fd, int floor) throws JRestartException {
        if (fd >= floor) return fd;
        int moved = Native.LIBC.fcntl(fd, Linux.F_DUPFD_CLOEXEC, floor);
        int errno = Native.errno();
        Native.LIBC.close(fd);
        if (moved < 0) throw JRestartException.errno(errno, "fcntl(F_DUPFD_CLOEXEC)");
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
     * Loads libc and every class a launch or a re-exec uses, and builds (without spawning)
     * the attributes and file actions of a launch, so that the first restart
     * neither loads a class nor meets a libc call for the first time. A gem
     * upgraded on disk before the restart cannot break it. The layer above
     * adds what its plans load.
     */
    public static void prepare() throws JRestartException {
        Support.require("preparing posix_spawn");
        new SpawnSetup(-1, new byte[] {'/'}, Inheritance.keeping(new int[0]).pin(new byte[0]), null).close();
        SocketInfo.of(-1);
        Reexec.class.getName();
        new IntByReference();
        Reaping.prepare();
        Forker.prepare();
    }

    /** posix_spawn's attributes and file actions for one launch, destroyed by close(). */
    private static final class SpawnSetup implements AutoCloseable {
        // Native memory is reused per thread: a launch then allocates little that the GC must
        // clean up, which is where the slowest launches spent their time.
        private static final ThreadLocal<Pointer[]> MEMORY = new ThreadLocal<Pointer[]>() {
            @Override
            protected Pointer[] initialValue() {
                return new Pointer[] {Memory.allocateDirect(Native.RUNTIME, OPAQUE_SIZE, true),
                    Memory.allocateDirect(Native.RUNTIME, OPAQUE_SIZE, true)};
            }
        };
        final Pointer attr = MEMORY.get()[0];
        final Pointer actions = MEMORY.get()[1];
        private boolean attrReady;
        private boolean actionsReady;

        SpawnSetup(int logFd, byte[] chdir, Inheritance.Pinned inheritance, int[] stdio) throws JRestartException {
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
                // A JVM started beside this one stays in its session, where the manager looks for the service.
                int session = stdio == null ? Linux.POSIX_SPAWN_SETSID : 0;
                check(Native.LIBC.posix_spawnattr_setflags(attr, (short) (session
                        | Linux.POSIX_SPAWN_SETSIGDEF | Linux.POSIX_SPAWN_SETSIGMASK)), "posix_spawnattr_setflags");
                if (stdio == null) addStdio(actions, logFd);
                else addStdio(actions, stdio);
                if (Native.CHDIR != null && chdir != null) {
                    check(Native.CHDIR.posix_spawn_file_actions_addchdir_np(actions, Native.cString(chdir, "chdir")),
                            "addchdir_np");
                }
                for (int i = 0; i < inheritance.from.length; i++) {
                    check(Native.LIBC.posix_spawn_file_actions_adddup2(actions, inheritance.from[i], inheritance.to[i]),
                            "adddup2 spare " + inheritance.to[i]);
                }
                addCloses(actions, inheritance.inheritance);
            } catch (JRestartException | RuntimeException e) {
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

    /**
     * The file a command names: an absolute path as it is, a bare name from
     * the search path (the new program's PATH; null when it has none).
     */
    public static byte[] resolve(byte[] command, byte[] searchPath) throws JRestartException {
        String shown = Native.text(command);
        if (command.length == 0) throw JRestartException.invalid("the command is empty");
        Native.checkCString(command, "command");
        if (indexOf(command, (byte) '/', 0) >= 0) {
            if (command[0] != '/') {
                throw JRestartException.invalid("command " + shown
                        + " is a relative path: give an absolute path, or a bare name to look up in PATH");
            }
            int errno = executableErrno(command);
            if (errno != 0) throw JRestartException.errno(errno, shown);
            return command;
        }
        byte[] path = searchPath == null ? new byte[0] : searchPath;
        int errno = ENOENT;
        for (byte[] dir : split(path)) {
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
                throw JRestartException.invalid("command " + shown + " would be found through the relative PATH"
                        + " entry \"" + Native.text(dir) + "\" (from the service's cwd): give an absolute path, or"
                        + " take relative entries out of PATH");
            }
            if (found == 0) return candidate;
            if (found == EACCES) errno = EACCES;
        }
        throw JRestartException.errno(errno, shown + " (looked up in PATH=" + Native.text(path) + ")");
    }

    /** 0 when execve could run path, else the errno it would fail with. */
    private static int executableErrno(byte[] path) throws JRestartException {
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

    public static void checkDirectory(byte[] dir) throws JRestartException {
        String shown = Native.text(dir);
        if (dir.length == 0 || dir[0] != '/') {
            throw JRestartException.invalid("chdir must be an absolute path, got " + shown);
        }
        byte[] c = Native.cString(dir, "chdir");
        int fd = Native.LIBC.open(c, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) throw JRestartException.errno(Native.errno(), "chdir " + shown);
        Native.LIBC.close(fd);
        if (Native.LIBC.access(c, X_OK) != 0) throw JRestartException.errno(Native.errno(), "chdir " + shown);
    }

    /** keep, sorted, once each is known to be an open descriptor above 2. */
    public static int[] checkKeep(int[] keep) throws JRestartException {
        int[] sorted = keep.clone();
        Arrays.sort(sorted);
        for (int fd : sorted) {
            if (fd <= 2) {
                throw JRestartException.invalid("keep: fd " + fd
                        + " is stdin, stdout or stderr; the child's are /dev/null or the log");
            }
            if (!Descriptors.isOpen(fd)) throw JRestartException.errno(Native.EBADF, "keep: fd " + fd);
        }
        return sorted;
    }

    /**
     * What opening the log will meet, checked without creating it, before
     * anything starts: a regular file or /dev/null there, or a directory it can be
     * created in. What openLog would refuse is refused here already.
     */
    public static void checkLog(byte[] log) throws JRestartException {
        String shown = "log " + Native.text(log);
        if (log.length == 0) throw JRestartException.invalid("log must not be empty");
        Stat stat = statAt(log);
        if (stat != null) {
            if (stat.type() == FileType.SYMLINK) throw JRestartException.errno(Errno.ELOOP.intValue(), shown);
            if (stat.type() == FileType.DIRECTORY) throw JRestartException.errno(Errno.EISDIR.intValue(), shown);
            if (!appendable(stat)) throw refuseLog(log, stat.type());
            if (Native.LIBC.access(Native.cString(log, "log"), W_OK) != 0) {
                throw JRestartException.errno(Native.errno(), shown);
            }
            return;
        }
        int slash = log.length - 1;
        while (slash >= 0 && log[slash] != '/') slash--;
        byte[] dir = slash < 0 ? new byte[] {'.'} : slash == 0 ? new byte[] {'/'} : Arrays.copyOf(log, slash);
        if (Native.LIBC.access(Native.cString(dir, "log"), W_OK | X_OK) != 0) {
            throw JRestartException.errno(Native.errno(), shown);
        }
    }

    /**
     * The log, opened for appending: a regular file (created if missing) or
     * /dev/null. A FIFO, a device, a socket would block the launch or hand the
     * command something that is not a log: refused, before anything starts.
     */
    private static int openLog(byte[] log) throws JRestartException {
        int fd = Native.LIBC.open(Native.cString(log, "log"), LOG_FLAGS | O_NONBLOCK, LOG_MODE);
        if (fd < 0) {
            int errno = Native.errno();
            // A FIFO without a reader, or a UNIX socket: name its type rather than ENXIO.
            if (errno == ENXIO) {
                Stat stat = statAt(log);
                if (stat != null && !appendable(stat)) throw refuseLog(log, stat.type());
            }
            throw JRestartException.errno(errno, "log " + Native.text(log));
        }
        try {
            Stat stat = Descriptors.fstat(fd);
            if (!appendable(stat)) throw refuseLog(log, stat.type());
            int flags = Native.LIBC.fcntl(fd, F_GETFL, 0);
            if (flags < 0 || Native.LIBC.fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
                throw JRestartException.errno(Native.errno(), "log " + Native.text(log));
            }
        } catch (JRestartException | RuntimeException e) {
            Native.LIBC.close(fd);
            throw e;
        }
        return aboveStdio(fd);
    }

    private static boolean appendable(Stat stat) {
        return stat.type() == FileType.FILE
                || stat.type() == FileType.CHARACTER_DEVICE && stat.rdev == DEV_NULL_RDEV;
    }

    private static JRestartException refuseLog(byte[] log, FileType type) {
        return JRestartException.invalid("log: " + Native.text(log) + " is a " + type.label().replace('_', ' ')
                + ", not a regular file (nor /dev/null)");
    }

    /** The file at path itself (a symlink is not followed), without opening it for I/O; null if missing. */
    private static Stat statAt(byte[] path) throws JRestartException {
        int fd = Native.LIBC.open(Native.cString(path, "log"), Linux.O_PATH | OpenFlags.O_NOFOLLOW.intValue()
                | O_CLOEXEC, 0);
        if (fd < 0) {
            if (Native.errno() == ENOENT) return null;
            throw JRestartException.errno(Native.errno(), "log " + Native.text(path));
        }
        try {
            return Descriptors.fstat(fd);
        } finally {
            Native.LIBC.close(fd);
        }
    }

    /**
     * argv for the child. With a delay (or without addchdir_np for a spawn) the command is
     * started through /bin/sh, which sleeps and then execs it with its arguments
     * as positional parameters: they are never parsed by the shell, and the sleep
     * happens in the detached child, so it survives the JVM.
     */
    private static List<byte[]> argv(LaunchRequest request) {
        List<byte[]> argv = new ArrayList<byte[]>();
        StringBuilder script = new StringBuilder();
        List<byte[]> params = new ArrayList<byte[]>();
        boolean report = request.statusFile != null;
        if (report) {
            // A no-op trap lets the wrapper outlive a SIGTERM to its cgroup (a systemd unit's stop) long
            // enough to record the status; the command itself gets the default disposition, as it must.
            script.append("trap : TERM; s=$1 i=$2; shift 2; ");
            params.add(request.statusFile);
            params.add(bytes(request.statusId));
        }
        if (request.delay > 0) {
            // "$1" is sleep's absolute path: the child's PATH chooses the command only.
            script.append("\"$1\" \"$2\" || exit 127; shift 2; ");
            params.add(request.sleep);
            params.add(bytes(String.format(Locale.ROOT, "%.3f", request.delay)));
        }
        if (request.strategy == Strategy.SPAWN && Native.CHDIR == null && request.chdir != null) {
            script.append("cd -- \"$1\" || exit 127; shift; ");
            params.add(request.chdir);
        }
        if (script.length() > 0) {
            argv.add(SH);
            argv.add(bytes("-c"));
            // Waiting for the command instead of exec'ing it is what lets the new JVM learn its exit status.
            script.append(report ? "\"$@\"; r=$?; echo \"$i $r\" > \"$s\"; exit $r" : "exec \"$@\"");
            argv.add(bytes(script.toString()));
            argv.add(bytes("jrestart"));
            argv.addAll(params);
        }
        argv.add(request.path);
        argv.addAll(request.command.subList(1, request.command.size()));
        return argv;
    }

    /**
     * setsid(1) (util-linux), by its absolute path in fixed system
     * directories: an overlap restart under systemd starts the new JVM
     * through setsid -f, which forks it and exits, so that systemd adopts it.
     */
    public static byte[] setsidPath() throws JRestartException {
        return firstExecutable(SETSID, "setsid (util-linux), for an overlap restart under systemd");
    }

    public static byte[] sleepPath() throws JRestartException {
        return firstExecutable(SLEEP, "sleep, for delay:");
    }

    /** The first executable of candidates (absolute paths); ENOENT naming what and them when there is none. */
    private static byte[] firstExecutable(String[] candidates, String what) throws JRestartException {
        for (String candidate : candidates) {
            if (executableErrno(bytes(candidate)) == 0) return bytes(candidate);
        }
        throw JRestartException.errno(ENOENT, what + ", in " + String.join(" or ", candidates));
    }

    /**
     * The shell's exec runs a file the kernel refuses (ENOEXEC) as a shell script:
     * where the command goes through /bin/sh, refuse in advance what execve
     * would refuse, as a direct spawn does. Only the kernel's own formats pass,
     * an ELF binary or a #! script (binfmt_misc formats are refused).
     */
    public static void checkExecFormat(byte[] path, byte[] command) throws JRestartException {
        int fd = Native.LIBC.open(Native.cString(path, "command"), O_RDONLY | O_CLOEXEC, 0);
        // A file this process cannot read, the shell cannot read as a script either.
        if (fd < 0) return;
        Pointer buffer = Memory.allocateDirect(Native.RUNTIME, ELF_MAGIC.length, true);
        byte[] head = new byte[ELF_MAGIC.length];
        try {
            long n = Native.LIBC.read(fd, buffer, head.length);
            if (n > 0) buffer.get(0, head, 0, (int) n);
        } finally {
            Native.LIBC.close(fd);
        }
        boolean elf = Arrays.equals(head, ELF_MAGIC);
        boolean script = head[0] == '#' && head[1] == '!';
        if (!elf && !script) throw JRestartException.errno(ENOEXEC, Native.text(command));
    }

    private static void addStdio(Pointer actions, int logFd) throws JRestartException {
        check(Native.LIBC.posix_spawn_file_actions_addopen(actions, 0, DEV_NULL, O_RDONLY, 0), "addopen stdin");
        if (logFd >= 0) {
            check(Native.LIBC.posix_spawn_file_actions_adddup2(actions, logFd, 1), "adddup2 stdout");
        } else {
            check(Native.LIBC.posix_spawn_file_actions_addopen(actions, 1, DEV_NULL, O_WRONLY, 0), "addopen stdout");
        }
        check(Native.LIBC.posix_spawn_file_actions_adddup2(actions, 1, 2), "adddup2 stderr");
    }

    /** fds 0 to 2 from stdio; one already on its number is kept, its close-on-exec flag cleared by dup2. */
    private static void addStdio(Pointer actions, int[] stdio) throws JRestartException {
        for (int fd = 0; fd <= 2; fd++) {
            check(Native.LIBC.posix_spawn_file_actions_adddup2(actions, stdio[fd], fd), "adddup2 stdio " + fd);
        }
    }

    private static void addCloses(Pointer actions, Inheritance inheritance) throws JRestartException {
        for (int fd : inheritance.keep) {
            // dup2 onto itself clears FD_CLOEXEC in the child (glibc 2.29+): a kept
            // descriptor survives the exec even where the parent marked it close-on-exec.
            check(Native.LIBC.posix_spawn_file_actions_adddup2(actions, fd, fd), "adddup2 keep " + fd);
        }
        // glibc refuses file actions on numbers at or above the soft RLIMIT_NOFILE.
        // Nothing new can be opened there; what is open there was opened before
        // the limit was lowered, and is refused below if it would be inherited.
        long limit = Native.LIBC.sysconf(SC_OPEN_MAX);
        int end = limit < 0 || limit > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) limit;
        // Every number between untouched descriptors is closed whether or not it
        // is open now: another thread may open one before the spawn.
        int next = 3;
        for (int fd : inheritance.untouched) {
            for (int gap = next; gap < fd && gap < end; gap++) {
                check(Native.LIBC.posix_spawn_file_actions_addclose(actions, gap), "addclose " + gap);
            }
            next = fd + 1;
        }
        if (Native.CLOSEFROM != null && next < end) {
            // closefrom in the child closes what is open at exec time, including
            // descriptors opened by other threads after we looked.
            check(Native.CLOSEFROM.posix_spawn_file_actions_addclosefrom_np(actions, next), "addclosefrom_np");
        } else if (Native.CLOSEFROM == null) {
            for (int fd : Descriptors.numbers()) {
                if (fd >= next && fd < end) {
                    check(Native.LIBC.posix_spawn_file_actions_addclose(actions, fd), "addclose " + fd);
                }
            }
        }
        if (inheritance.untouched.length > 0 && inheritance.untouched[inheritance.untouched.length - 1] >= end
                || Native.CLOSEFROM == null) {
            for (int fd : Descriptors.numbers()) {
                if (fd >= end && !inheritance.untouched(fd) && Descriptors.isOpen(fd)) {
                    throw JRestartException.errno(Errno.EMFILE.intValue(), "fd " + fd + " is at or above the soft"
                            + " RLIMIT_NOFILE (" + end + "), where posix_spawn cannot close it in the child");
                }
            }
        }
    }

    private static void check(int rc, String what) throws JRestartException {
        if (rc != 0) throw JRestartException.errno(rc, what);
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
