package org.jrestart.core;

import org.jrestart.core.launch.CloseMode;
import org.jrestart.core.launch.Strategy;
import org.jrestart.core.posix.Native;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * How to start a command, as asked; Plan checks all of it at once. Strings are
 * raw bytes, passed to the kernel as they are. The defaults: close every
 * descriptor, keep none, cwd "/", stdio on /dev/null, no delay, the
 * service's environment, posix_spawn.
 */
public final class Options {
    CloseMode close = CloseMode.ALL;
    int[] keep = new int[0];
    int[] listeners = new int[0];
    /** The listener an exec in place puts on the new image's fd 0; -1: none. */
    int inheritedChannel = -1;
    byte[] chdir = {'/'};
    byte[] log;
    final Map<String, byte[]> env = new LinkedHashMap<String, byte[]>();
    boolean unsetenvOthers;
    double delay;
    /**
     * The longest delay: every way of waiting holds it exactly (sleep's
     * "%.3f", Reexec's milliseconds, systemd-run's --on-active), and a
     * restart meant for later than that is a schedule, not a delay.
     */
    static final double MAX_DELAY = 86400;
    Strategy strategy = Strategy.SPAWN;
    String reason;
    /** Seconds the orderly stop may take (restart and reexec); null: the default (Plan.stopTimeout). */
    Double stopTimeout;
    /** A restart that starts the new JVM beside this one and hands over once it is ready. */
    boolean overlap;
    /** Seconds the new JVM of an overlap restart has to say it is ready. */
    double readyTimeout = DEFAULT_READY_TIMEOUT;
    static final double DEFAULT_READY_TIMEOUT = 120;
    /** The pid file an overlap restart rewrites with the new JVM's pid; null: the one found naming this JVM, if any. */
    byte[] pidFile;
    /** The options set, by their Ruby names: an overlap restart refuses those that do not apply to it. */
    final Set<String> given = new LinkedHashSet<String>();

    public Options close(CloseMode mode) {
        given.add("close");
        close = mode;
        return this;
    }

    /** Descriptors above 2 that the command inherits, even close-on-exec ones. */
    public Options keep(int... fds) {
        given.add("keep");
        keep = fds.clone();
        return this;
    }

    /**
     * Listening TCP sockets an exec in place hands to the new JVM, besides
     * those JRestart.listen made (which it always hands on); ignored by a
     * restart through a command, which starts another process.
     */
    public Options listeners(int... fds) {
        given.add("listeners");
        listeners = fds.clone();
        return this;
    }

    /**
     * A listening TCP socket that an exec in place puts on fd 0 of the new
     * JVM, where System.inheritedChannel() finds it (Tomcat's
     * useInheritedChannel); fd 0 itself is the usual one. -1: none.
     */
    public Options inheritedChannel(int fd) {
        given.add("inherited_channel");
        inheritedChannel = fd;
        return this;
    }

    /** The command's cwd: an absolute path to a directory. */
    public Options chdir(byte[] dir) {
        given.add("chdir");
        chdir = dir.clone();
        return this;
    }

    /** Append stdout and stderr to this file; null means /dev/null. */
    public Options log(byte[] path) {
        given.add("log");
        log = path == null ? null : path.clone();
        return this;
    }

    /** Sets NAME in the command's environment, over the service's; a null value removes it. */
    public Options env(String name, byte[] value) {
        given.add("env");
        env.put(name, value == null ? null : value.clone());
        return this;
    }

    /** true: the command gets only what env() set, nothing of the service's environment. */
    public Options unsetenvOthers(boolean only) {
        given.add("unsetenv_others");
        unsetenvOthers = only;
        return this;
    }

    /** Seconds the detached child waits before it runs the command. */
    public Options delay(double seconds) {
        given.add("delay");
        delay = seconds;
        return this;
    }

    public Options strategy(Strategy how) {
        given.add("strategy");
        strategy = how;
        return this;
    }

    /**
     * Why this restart is asked for, in words (a restart only): the record the
     * new JVM reads carries it. At most RestartRecord.REASON_LIMIT bytes of UTF-8, no NUL.
     */
    public Options reason(String why) {
        given.add("reason");
        reason = why;
        return this;
    }

    public String reason() {
        return reason;
    }

    /**
     * How long the orderly stop before an exec in place (and on the SIGTERM
     * after a restart command) may take, in seconds; at the deadline the
     * exec goes ahead anyway. Finite and >= 0; by default the unit's
     * TimeoutStopUSec under systemd, else 90 s.
     */
    public Options stopTimeout(double seconds) {
        given.add("stop_timeout");
        stopTimeout = seconds;
        return this;
    }

    /**
     * Starts the new JVM beside this one (same program, arguments and
     * environment as an exec in place, the listeners inherited), and hands
     * over once it says it is ready (Plan.ready); a restart only.
     */
    public Options overlap(boolean beside) {
        given.add("overlap");
        overlap = beside;
        return this;
    }

    /** Seconds the new JVM of an overlap restart has to be ready (120 by default); > 0 and finite. */
    public Options readyTimeout(double seconds) {
        given.add("ready_timeout");
        readyTimeout = seconds;
        return this;
    }

    /** The pid file an overlap restart rewrites with the new JVM's pid; it must name this JVM now. */
    public Options pidFile(byte[] path) {
        given.add("pidfile");
        pidFile = path == null ? null : path.clone();
        return this;
    }

    public CloseMode close() {
        return close;
    }

    public byte[] chdir() {
        return chdir.clone();
    }

    public double delay() {
        return delay;
    }

    public Strategy strategy() {
        return strategy;
    }

    public boolean unsetenvOthers() {
        return unsetenvOthers;
    }

    @Override
    public String toString() {
        return "Options(close " + close + ", keep " + Arrays.toString(keep) + ", chdir " + Native.text(chdir)
                + ", log " + (log == null ? "none" : Native.text(log)) + ", delay " + delay + ", " + strategy + ")";
    }
}
