package org.jrestart;

import org.jrestart.core.Options;
import org.jrestart.core.launch.CloseMode;
import org.jrestart.core.launch.Strategy;
import org.jrestart.core.listen.Listeners;
import org.jrestart.core.posix.JRestartException;

import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * How JRestart starts a command, for Java callers; every setter returns this.
 * Defaults: the command inherits no descriptor above 2, cwd "/", stdin from
 * and stdout and stderr to /dev/null, the service's environment, no delay,
 * posix_spawn. Nothing is checked until the plan is made: then all of it.
 * A null argument too: the setters keep their signatures (no checked
 * exception in a builder chain), and JRestart's restart, plan and launch
 * throw JRestartException of kind INVALID_ARGUMENT naming the first one.
 */
public final class LaunchOptions {
    private final Options options = new Options();
    /** The first null argument given, said when the options are used; null while there is none. */
    private String invalid;
    private ServerSocketChannel[] channels = new ServerSocketChannel[0];
    private ServerSocketChannel inheritedChannel;

    /** Which descriptors the command must not inherit: ALL (the default) or only SOCKETS. */
    public LaunchOptions close(CloseMode mode) {
        options.close(mode);
        return this;
    }

    /** Descriptors above 2 that the command inherits, even close-on-exec ones. */
    public LaunchOptions keep(int... fds) {
        if (fds == null) return refuse("keep: the descriptors are null");
        options.keep(fds);
        return this;
    }

    /**
     * Listening channels a restart in place hands to the new JVM besides those
     * JRestart.listen made (always handed on); each must be bound and open.
     * A restart through a command starts another process and hands none.
     */
    public LaunchOptions listeners(ServerSocketChannel... channels) {
        if (channels == null) return refuse("listeners: the channels are null");
        this.channels = channels.clone();
        return this;
    }

    /**
     * A listening channel a restart in place puts on fd 0 of the new JVM,
     * where System.inheritedChannel() finds it: for a host whose connector
     * takes only that (Tomcat's useInheritedChannel="true"), usually the
     * channel System.inheritedChannel() gave this JVM. The new JVM's fds 1
     * and 2 are this JVM's as they are at the restart call.
     */
    public LaunchOptions inheritedChannel(ServerSocketChannel channel) {
        if (channel == null) return refuse("inheritedChannel: the channel is null");
        inheritedChannel = channel;
        return this;
    }

    /** The command's working directory (absolute); "/" by default. */
    public LaunchOptions chdir(Path dir) {
        if (dir == null) return refuse("chdir: the directory is null");
        options.chdir(JRestart.bytes(dir.toString()));
        return this;
    }

    /** Appends the command's stdout and stderr to this regular file (created 0640 if missing). */
    public LaunchOptions log(Path file) {
        if (file == null) return refuse("log: the file is null");
        options.log(JRestart.bytes(file.toString()));
        return this;
    }

    /** Sets a variable in the command's environment, over the service's. */
    public LaunchOptions env(String name, String value) {
        if (name == null) return refuse("env: the name is null");
        if (value == null) return refuse("env: the value of " + name + " is null (unsetenv removes a variable)");
        options.env(name, JRestart.bytes(value));
        return this;
    }

    /** Removes a variable from the command's environment. */
    public LaunchOptions unsetenv(String name) {
        if (name == null) return refuse("unsetenv: the name is null");
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
        if (unit == null) return refuse("delay: the unit is null");
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

    /**
     * How long the orderly stop may take (restart and plan only): before a
     * restart in place, the JVM's shutdown hooks (and every JRuby runtime's
     * at_exit handlers) get this long, then the exec goes ahead anyway; after
     * a restart command, it bounds the at_exit handlers on the manager's
     * SIGTERM. Default: the unit's TimeoutStopUSec under systemd, else 90 s.
     * Negative or more than a day: INVALID_ARGUMENT.
     */
    public LaunchOptions stopTimeout(long amount, TimeUnit unit) {
        if (unit == null) return refuse("stopTimeout: the unit is null");
        options.stopTimeout(unit.toNanos(amount) / 1e9);
        return this;
    }

    /**
     * An overlap restart (restart and plan only): the new JVM (this JVM's own
     * program, arguments and environment, with the listeners) starts beside
     * this one; once it calls JRestart.ready() this JVM runs its restart
     * hooks, stops in order and exits 0. A new JVM that exits, or is not ready
     * within readyTimeout, is stopped and restart throws, this JVM serving on.
     * Refused (STATE) where the manager would fight it (supervisord, runit,
     * daemontools, s6, PID 1 of a container), for a systemd unit that is not
     * Type=notify, and where the memory cannot hold a second JVM. Takes only
     * env, unsetenv, keep, listeners, inheritedChannel, stopTimeout, reason,
     * readyTimeout and pidFile; no command.
     */
    public LaunchOptions overlap(boolean beside) {
        options.overlap(beside);
        return this;
    }

    /** How long the new JVM of an overlap restart has to call JRestart.ready(): 120 s by default, above 0, at most a day. */
    public LaunchOptions readyTimeout(long amount, TimeUnit unit) {
        if (unit == null) return refuse("readyTimeout: the unit is null");
        options.readyTimeout(unit.toNanos(amount) / 1e9);
        return this;
    }

    /**
     * The pid file (absolute, naming this JVM now) an overlap restart rewrites
     * with the new JVM's pid once it is ready; by default the one in /run that
     * names this JVM, if any.
     */
    public LaunchOptions pidFile(Path file) {
        if (file == null) return refuse("pidFile: the file is null");
        options.pidFile(JRestart.bytes(file.toString()));
        return this;
    }

    Options core() throws JRestartException {
        if (invalid != null) throw JRestartException.invalid(invalid);
        int[] fds = new int[channels.length];
        for (int i = 0; i < fds.length; i++) fds[i] = Listeners.descriptorOf(channels[i]);
        if (inheritedChannel != null) options.inheritedChannel(Listeners.descriptorOf(inheritedChannel));
        return options.listeners(fds);
    }

    private LaunchOptions refuse(String why) {
        if (invalid == null) invalid = why;
        return this;
    }
}
