/*
 * The floor for `bin/rake bench`: what C needs to start /bin/true with the
 * attributes and file actions jrestart's launch uses, in a process that has
 * touched as much memory as the JVM heap it is compared with.
 *
 *   spawn_floor TOUCH_BYTES WARMUP RUNS
 *
 * Prints "pass_ns N" (one write over every touched page, before the runs),
 * one "run RETURNS_NS EXIT_NS" line per timed run, then "pass_ns N" again
 * (the write pass after the runs: what the runs left behind). Exits 1 with a
 * message on stderr when a spawn fails or a child does not exit 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, int err) {
    fprintf(stderr, "spawn_floor: %s: %s\n", what, strerror(err));
    exit(1);
}

/* Writes one byte in every page: the same pass the JVM driver times. */
static int64_t write_pass(volatile char *memory, size_t bytes, size_t page, char value) {
    int64_t start = now_ns();
    for (size_t offset = 0; offset < bytes; offset += page) memory[offset] = value;
    return now_ns() - start;
}

/* One posix_spawn of /bin/true set up as Launcher.java sets it up, timed until it returns and until reaped. */
static void spawn_true(int64_t *returns_ns, int64_t *exit_ns) {
    char *argv[] = {"/bin/true", NULL};
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    sigset_t all, none;
    int rc;

    int64_t start = now_ns();
    /* Set up inside the timed region: jrestart builds them for every launch too. */
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addchdir_np(&actions, "/");
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    pid_t pid;
    rc = posix_spawn(&pid, argv[0], &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    int64_t returned = now_ns();
    if (rc != 0) die("posix_spawn /bin/true", rc);

    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) die("waitpid", errno);
    }
    int64_t exited = now_ns();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "spawn_floor: /bin/true (pid %d) ended with wait status %d\n", (int)pid, status);
        exit(1);
    }
    *returns_ns = returned - start;
    *exit_ns = exited - start;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s TOUCH_BYTES WARMUP RUNS\n", argv[0]);
        return 2;
    }
    size_t bytes = strtoull(argv[1], NULL, 10);
    long warmup = strtol(argv[2], NULL, 10);
    long runs = strtol(argv[3], NULL, 10);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    char *memory = NULL;
    if (bytes > 0) {
        memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) die("mmap", errno);
        write_pass(memory, bytes, page, 1); /* first touch: the pages become resident */
    }
    printf("pass_ns %lld\n", (long long)write_pass(memory, bytes, page, 2));

    int64_t returns_ns, exit_ns;
    for (long i = 0; i < warmup; i++) spawn_true(&returns_ns, &exit_ns);
    for (long i = 0; i < runs; i++) {
        spawn_true(&returns_ns, &exit_ns);
        printf("run %lld %lld\n", (long long)returns_ns, (long long)exit_ns);
    }
    printf("pass_ns %lld\n", (long long)write_pass(memory, bytes, page, 3));
    return 0;
}
