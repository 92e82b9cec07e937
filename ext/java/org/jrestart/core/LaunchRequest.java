package org.jrestart.core;

import java.util.ArrayList;
import java.util.List;

/**
 * What to start and how. Strings are raw bytes, passed to the kernel as they
 * are. Defaults: close everything, keep nothing, cwd "/", stdio on /dev/null,
 * no delay, an empty environment, posix_spawn.
 */
public final class LaunchRequest {
    final byte[] command;
    final List<byte[]> args = new ArrayList<byte[]>();
    final List<byte[]> env = new ArrayList<byte[]>();
    byte[] searchPath = new byte[0];
    CloseMode close = CloseMode.ALL;
    int[] keep = new int[0];
    byte[] chdir = {'/'};
    byte[] log;
    double delaySeconds;
    Strategy strategy = Strategy.SPAWN;

    public LaunchRequest(byte[] command) {
        this.command = command.clone();
    }

    public LaunchRequest arg(byte[] arg) {
        args.add(arg.clone());
        return this;
    }

    /** One "NAME=value" entry of the child's environment. */
    public LaunchRequest env(byte[] entry) {
        env.add(entry.clone());
        return this;
    }

    /** The PATH a bare command name is looked up in; usually the child's own PATH. */
    public LaunchRequest searchPath(byte[] path) {
        searchPath = path.clone();
        return this;
    }

    public LaunchRequest close(CloseMode mode) {
        close = mode;
        return this;
    }

    public LaunchRequest keep(int... fds) {
        keep = fds.clone();
        return this;
    }

    public LaunchRequest chdir(byte[] dir) {
        chdir = dir.clone();
        return this;
    }

    /** Append stdout and stderr to this file; null means /dev/null. */
    public LaunchRequest log(byte[] path) {
        log = path == null ? null : path.clone();
        return this;
    }

    public LaunchRequest strategy(Strategy how) {
        if (how == null) throw new IllegalArgumentException("strategy must not be null");
        strategy = how;
        return this;
    }

    public LaunchRequest delay(double seconds) {
        if (!(seconds >= 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("delay must be a finite number of seconds >= 0, got " + seconds);
        }
        delaySeconds = seconds;
        return this;
    }

}
