package org.jrestart;

import org.jrestart.core.CloseMode;
import org.jrestart.core.Options;
import org.jrestart.core.Strategy;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * How JRestart starts a command, for Java callers; every setter returns this.
 * Defaults: the command inherits no descriptor above 2, cwd "/", stdin from
 * and stdout and stderr to /dev/null, the service's environment, no delay,
 * posix_spawn. Nothing is checked until the plan is made: then all of it.
 */
public final class LaunchOptions {
    private final Options options = new Options();

    /** Which descriptors the command must not inherit: ALL (the default) or only SOCKETS. */
    public LaunchOptions close(CloseMode mode) {
        options.close(mode);
        return this;
    }

    /** Descriptors above 2 that the command inherits, even close-on-exec ones. */
    public LaunchOptions keep(int... fds) {
        options.keep(fds);
        return this;
    }

    /** The command's working directory (absolute); "/" by default. */
    public LaunchOptions chdir(Path dir) {
        options.chdir(JRestart.bytes(dir.toString()));
        return this;
    }

    /** Appends the command's stdout and stderr to this regular file (created 0640 if missing). */
    public LaunchOptions log(Path file) {
        options.log(JRestart.bytes(file.toString()));
        return this;
    }

    /** Sets a variable in the command's environment, over the service's. */
    public LaunchOptions env(String name, String value) {
        options.env(name, JRestart.bytes(value));
        return this;
    }

    /** Removes a variable from the command's environment. */
    public LaunchOptions unsetenv(String name) {
        options.env(name, null);
        return this;
    }

    /** The command gets only what env() set, nothing of the service's environment. */
    public LaunchOptions unsetenvOthers() {
        options.unsetenvOthers(true);
        return this;
    }

    /**
     * The detached child waits this long before the command runs (it survives
     * the JVM meanwhile); launch returns at once. At most one day: more is
     * refused (INVALID_ARGUMENT).
     */
    public LaunchOptions delay(long amount, TimeUnit unit) {
        options.delay(unit.toNanos(amount) / 1e9);
        return this;
    }

    /** SPAWN (posix_spawn, the default) or FORK (fork + execve, see the README for its cost). */
    public LaunchOptions strategy(Strategy strategy) {
        options.strategy(strategy);
        return this;
    }

    /**
     * Why the restart is asked for (restart and plan only): the new JVM reads
     * it in JRestart.lastRestart(). At most 1024 bytes of UTF-8.
     */
    public LaunchOptions reason(String why) {
        options.reason(why);
        return this;
    }

    Options core() {
        return options;
    }
}
