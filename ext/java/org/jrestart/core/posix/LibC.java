package org.jrestart.core.posix;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.byref.IntByReference;

/**
 * The libc functions the gem needs, declared as in the C prototypes.
 * Paths are NUL-terminated byte arrays so that any file name reaches the
 * kernel unchanged, whatever its encoding.
 */
public interface LibC {
    int posix_spawn(@Out IntByReference pid, @In byte[] path, Pointer fileActions, Pointer attr,
                    Pointer argv, Pointer envp);

    int posix_spawnattr_init(Pointer attr);
    int posix_spawnattr_destroy(Pointer attr);
    int posix_spawnattr_setflags(Pointer attr, short flags);
    int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigdefault);
    int posix_spawnattr_setsigmask(Pointer attr, Pointer sigmask);

    int posix_spawn_file_actions_init(Pointer fileActions);
    int posix_spawn_file_actions_destroy(Pointer fileActions);
    int posix_spawn_file_actions_addopen(Pointer fileActions, int fd, @In byte[] path, int oflag, int mode);
    int posix_spawn_file_actions_adddup2(Pointer fileActions, int fd, int newfd);
    int posix_spawn_file_actions_addclose(Pointer fileActions, int fd);

    int execve(Pointer path, Pointer argv, Pointer envp);
    int sigaction(int signum, Pointer act, Pointer oldact);
    int pthread_sigmask(int how, Pointer set, Pointer oldset);
    int sigfillset(Pointer set);
    int sigemptyset(Pointer set);

    int open(@In byte[] path, int flags, int mode);
    int close(int fd);
    int access(@In byte[] path, int mode);
    long readlink(@In byte[] path, Pointer buf, long size);
    int fcntl(int fd, int cmd, int arg);
    int getsockname(int fd, Pointer addr, @In @Out IntByReference addrlen);
    int getsockopt(int fd, int level, int optname, Pointer optval, @In @Out IntByReference optlen);
    // Listeners handed to the next JVM: the listen queue resized, held by a duplicate across the stop.
    int listen(int fd, int backlog);
    int dup(int oldfd);
    long sysconf(int name);
    int waitpid(int pid, @Out IntByReference status, int options);
    int kill(int pid, int sig);
    int getpid();
    int geteuid();
    int clock_gettime(int clockId, Pointer timespec);

    // sd_notify for an exec in place: neither the JDK nor JRuby sends on a UNIX datagram socket.
    int socket(int domain, int type, int protocol);
    long sendto(int fd, @In byte[] buf, long len, int flags, Pointer destAddr, int addrlen);

    // The fork strategy. The child's calls take only ints and native memory:
    // nothing is marshalled between fork and exec.
    int fork();
    int setsid();
    int chdir(Pointer path);
    int dup2(int oldfd, int newfd);
    int pipe2(@Out int[] fds, int flags);
    int poll(Pointer fds, long nfds, int timeout);
    long read(int fd, Pointer buf, long count);
    long pread(int fd, Pointer buf, long count, long offset);
    long write(int fd, Pointer buf, long count);
    void _exit(int status);

    /** glibc 2.34+: lets the child close every inherited descriptor in one action, without a race. */
    interface CloseFromNp {
        int posix_spawn_file_actions_addclosefrom_np(Pointer fileActions, int from);
    }

    /** glibc 2.29+. */
    interface ChdirNp {
        int posix_spawn_file_actions_addchdir_np(Pointer fileActions, @In byte[] path);
    }

    /** glibc 2.34+: closes the forked child's descriptors in a few calls, without a race. */
    interface CloseRange {
        int close_range(int first, int last, int flags);
    }

    /** glibc 2.33+ exports fstat itself. */
    interface Fstat {
        int fstat(int fd, Pointer buf);
    }

    /**
     * Linux 5.3+ with glibc 2.36+ (pidfd_open): reaping through pidfds, one
     * background thread for every child, the caller's thread for a child it
     * waits for. struct pollfd and the siginfo_t read here are int arrays.
     */
    interface Pidfd {
        int pidfd_open(int pid, int flags);
        int waitid(int idtype, int id, @Out int[] info, int options);
        int poll(@In @Out int[] fds, long nfds, int timeout);
        int epoll_create1(int flags);
        int epoll_ctl(int epfd, int op, int fd, @In int[] event);
        int epoll_wait(int epfd, Pointer events, int maxevents, int timeout);
        int eventfd(int initval, int flags);
        int eventfd_read(int fd, @Out long[] value);
        int eventfd_write(int fd, long value);
    }

    /** Older glibc exports only the versioned __fxstat behind its fstat macro. */
    interface Fxstat {
        int __fxstat(int version, int fd, Pointer buf);
    }
}
