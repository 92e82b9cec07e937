package org.jrestart.core;

import org.jrestart.core.history.Guard;
import org.jrestart.core.history.RestartLimit;
import org.jrestart.core.history.RestartRecord;
import org.jrestart.core.history.StartCount;
import org.jrestart.core.history.StateDirectory;
import org.jrestart.core.host.Detect;
import org.jrestart.core.host.Escape;
import org.jrestart.core.host.HeadRoom;
import org.jrestart.core.host.Manager;
import org.jrestart.core.host.Notify;
import org.jrestart.core.host.PidFile;
import org.jrestart.core.host.StartLimit;
import org.jrestart.core.host.Systemctl;
import org.jrestart.core.hooks.RestartHooks;
import org.jrestart.core.launch.Child;
import org.jrestart.core.launch.CloseMode;
import org.jrestart.core.launch.ExecListener;
import org.jrestart.core.launch.FailFast;
import org.jrestart.core.launch.Inheritance;
import org.jrestart.core.launch.LaunchRequest;
import org.jrestart.core.launch.Launcher;
import org.jrestart.core.launch.Overlap;
import org.jrestart.core.launch.Reexec;
import org.jrestart.core.launch.Strategy;
import org.jrestart.core.launch.Wakeup;
import org.jrestart.core.listen.Listener;
import org.jrestart.core.listen.Listeners;
import org.jrestart.core.posix.Descriptor;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.Proc;
import org.jrestart.core.posix.Support;
import org.jrestart.core.posix.Warnings;
import org.jrestart.core.stop.OrderlyStop;
import org.jrestart.core.stop.Termination;

import java.io.File;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a restart, a launch or an exec in place will do, decided and checked
 * once, before anything is done: the command and where it came from, the
 * file that runs, the strategy, and what the new program gets. The launch
 * layer carries out the LaunchRequest a Plan makes of itself and nothing
 * else, so what a plan shows is what happens. Immutable; the descriptor table is listed only when asked for.
 */
public final class Plan {
    /** Where the command came from. */
    public enum Source {
        /** Given with the request. */
        ARGUMENT,
        /** The configured restart command (JRestart.command). */
        SETTING,
        /** JRESTART_COMMAND, split as a shell would split it. */
        ENVIRONMENT,
        /** The restart command of the service manager that runs this process. */
        DETECTED,
        /** This process's own command line, for an exec in place. */
        SELF
    }

    /** What becomes of one of this process's descriptors in the new program. */
    public enum Fate {
        /** stdin, stdout, stderr: /dev/null or the log instead. */
        REPLACED,
        INHERITED,
        /** jrestart closes it. */
        WITHHELD,
        /** Left open, but marked close-on-exec: the exec closes it (close: :sockets). */
        CLOSE_ON_EXEC
    }

    /** One descriptor and its fate. */
    public static final class Entry {
        public final Descriptor descriptor;
        public final Fate fate;

        Entry(Descriptor descriptor, Fate fate) {
            this.descriptor = descriptor;
            this.fate = fate;
        }
    }

    /**
     * A restart command and where it came from; manager is set when it was
     * detected. inPlace says why the service restarts in place (its own
     * command line, same pid) instead; null for a command.
     */
    public static final class Choice {
        public final List<byte[]> command;
        public final Source source;
        public final Manager manager;
        public final String inPlace;
        /** How the command is started out of the service's reach (systemd-run), and why; null when it is not. */
        public final String escape;

        Choice(List<byte[]> command, Source source, Manager manager, String inPlace) {
            this(command, source, manager, inPlace, null);
        }

        Choice(List<byte[]> command, Source source, Manager manager, String inPlace, String escape) {
            this.command = Collections.unmodifiableList(copy(command));
            this.source = source;
            this.manager = manager;
            this.inPlace = inPlace;
            this.escape = escape;
        }
    }

    static final String COMMAND_VARIABLE = "JRESTART_COMMAND";

    final List<byte[]> command;
    final byte[] path;
    final Source source;
    final Manager manager;
    final Strategy strategy;
    final CloseMode close;
    final int[] keep;
    /** null for an exec in place, which keeps the cwd. */
    final byte[] chdir;
    final byte[] log;
    final double delay;
    /** The absolute path of sleep(1) for a delay, found in fixed system directories; null without one. */
    final byte[] sleep;
    final boolean unsetenvOthers;
    /** The env option as given (null values remove a name), for display. */
    final Map<String, byte[]> env;
    /** The new program's environment as NAME=value entries. */
    final List<byte[]> environment;
    /** Why this restart happens in place (Strategy.EXEC chosen for the service); null otherwise. */
    final String inPlace;
    /** How the named command escapes the service's cgroup (systemd-run); null otherwise. */
    final String escape;
    /** The service's $NOTIFY_SOCKET, told of an exec in place; null when it has none. */
    final byte[] notifySocket;
    /** The listeners an exec in place hands on (kept, named in the environment); null for a command. */
    final Listeners.Handover handover;
    /** Why the restart was asked for (reason:), for the record; null when not said or not a restart. */
    final String reason;
    /** A restart without a delay: execute watches the command fail fast (FailFast). */
    final boolean failFast;
    /**
     * The unit a restart through systemd starts again, whose start limit execute
     * reads (systemctl show is a process: a plan starts none); null otherwise.
     */
    Manager limitedUnit;
    /** A restart of the service (restart!), which the guard counts and the record tells the new JVM of. */
    private final boolean restart;
    /** The restart-loop guard's limit; OFF for launches. */
    RestartLimit limit = RestartLimit.OFF;
    /** stop_timeout: as given; null: the default. */
    private final Double givenStopTimeout;
    /** Seconds the orderly stop may take (a restart only; null for a launch), decided when planned. */
    private Double stopTimeout;
    /** The service as detected (once, when planned), which the guard counts restarts of; null: the command names it. */
    private Manager service;
    private volatile List<Entry> descriptors;
    /** Which case an overlap restart is (the manager that will track the new JVM), and why; null otherwise. */
    String overlap;
    /** Seconds the new JVM of an overlap restart has to be ready. */
    private double readyTimeout;
    /** The pid file an overlap restart rewrites; null: none. */
    private PidFile pidFile;
    /** The systemd unit an overlap restart tells MAINPID=; null: none. */
    private Manager notifiedUnit;

    private Plan(Choice choice, byte[] path, Options options, Strategy strategy, List<byte[]> environment,
                 int[] keep, byte[] sleep, byte[] notifySocket, boolean restart, Listeners.Handover handover) {
        this.command = choice.command;
        this.path = path;
        this.source = choice.source;
        this.manager = choice.manager;
        this.strategy = strategy;
        this.close = options.close;
        this.keep = keep;
        this.chdir = strategy == Strategy.EXEC || strategy == Strategy.OVERLAP ? null : options.chdir.clone();
        this.log = options.log == null ? null : options.log.clone();
        this.delay = options.delay;
        this.sleep = sleep;
        this.unsetenvOthers = options.unsetenvOthers;
        this.env = Collections.unmodifiableMap(new LinkedHashMap<String, byte[]>(options.env));
        this.environment = Collections.unmodifiableList(environment);
        this.inPlace = choice.inPlace;
        this.escape = choice.escape;
        this.notifySocket = notifySocket;
        this.reason = options.reason;
        this.failFast = restart && strategy != Strategy.EXEC && delay == 0;
        this.restart = restart;
        this.handover = handover;
        this.givenStopTimeout = options.stopTimeout;
    }

    /** The plan to start command (its first word, then its arguments) detached: launch. */
    public static Plan launch(List<byte[]> command, Options options, Map<String, byte[]> environment)
            throws JRestartException {
        Support.require("launch");
        if (command.isEmpty()) throw JRestartException.invalid("the command is missing");
        return detached(new Choice(command, Source.ARGUMENT, null, null), options, environment, false);
    }

    /**
     * The plan of a restart of this service: command, or when it is empty the
     * command restart! chooses (setting, the configured command; else
     * JRESTART_COMMAND from environment; else the detected manager's). Where
     * nothing started from here can outlive the service (it is PID 1 of a
     * container) or systemd would refuse the command (a system unit, not
     * root), the service restarts in place; a command that would die with the
     * container is refused. environment is the service's own (Ruby's ENV, or
     * System.getenv()).
     */
    public static Plan restart(List<byte[]> command, Options options, Map<String, byte[]> environment,
                               List<byte[]> setting, RestartLimit limitSetting) throws JRestartException {
        Support.require("restart");
        checkReason(options.reason);
        checkStopTimeout(options);
        RestartLimit limit = RestartLimit.effective(limitSetting, environment);
        if (options.overlap) {
            if (!command.isEmpty()) {
                throw JRestartException.invalid("overlap: starts this JVM's own command line beside it: a command ("
                        + Native.text(command.get(0)) + ") cannot be given");
            }
            Plan plan = overlap(options, environment);
            return plan.restarting(limit, plan.manager);
        }
        for (String name : OVERLAP_ONLY) {
            if (options.given.contains(name)) throw JRestartException.invalid(name + ": applies only with overlap: true");
        }
        Choice choice = command.isEmpty() ? choose(setting, environment) : new Choice(command, Source.ARGUMENT, null, null);
        if (choice == null) {
            throw JRestartException.state("restart has no command to run: none was given, JRestart.command and "
                    + COMMAND_VARIABLE + " are not set, and no service manager was detected ("
                    + Detect.explain(Proc.selfPid(), text(environment)) + ")");
        }
        if (choice.inPlace != null) return inPlace(choice, options, environment).restarting(limit, choice.manager);
        // Checked though a command's restart hands nothing on: bad input fails wherever the restart goes.
        Listeners.handover(options.listeners, options.inheritedChannel);
        int pid = Proc.selfPid();
        String cgroup = Proc.read("/proc/" + pid + "/cgroup");
        Manager container = Detect.container(pid, cgroup);
        if (container != null) {
            throw JRestartException.state("restart with " + Native.text(choice.command.get(0)) + " refused: it would"
                    + " die half-way, with this container (" + String.join("; ", container.evidence) + "): when"
                    + " PID 1 of a pid namespace exits, the kernel kills every process in it. Restart in place instead:"
                    + " restart! with no command (unset JRestart.command and " + COMMAND_VARIABLE + "), or reexec!");
        }
        Manager unit = choice.source == Source.DETECTED ? choice.manager
                : Detect.systemd(cgroup, text(environment));
        boolean systemd = unit != null && unit.name.equals("systemd");
        Plan plan = systemd && choice.source != Source.DETECTED && !Escape.handsToSystemd(choice.command)
                ? escaped(unit, choice, options, environment)
                : detached(choice, options, environment, true);
        if (systemd) plan.limitedUnit = unit;
        Manager service = choice.manager != null ? choice.manager : Detect.detect(pid, text(environment));
        return plan.restarting(limit, service);
    }

    /** Makes this plan a restart of service, counted against limit, stopped within the stop timeout. */
    private Plan restarting(RestartLimit limit, Manager service) {
        this.limit = limit;
        this.service = service;
        this.stopTimeout = givenStopTimeout != null ? givenStopTimeout : defaultStopTimeout(service);
        return this;
    }

    /**
     * A systemd unit's own TimeoutStopUSec, so that the orderly stop gets
     * what the unit's stop would get; else OrderlyStop.DEFAULT_TIMEOUT (also
     * when systemctl cannot say, which is said).
     */
    private static double defaultStopTimeout(Manager service) {
        if (service == null || !service.name.equals("systemd")) return OrderlyStop.DEFAULT_TIMEOUT;
        try {
            return Systemctl.timeoutStopSeconds(service.service, service.command.contains("--user"));
        } catch (JRestartException e) {
            Warnings.warn(e.getMessage() + "; the stop timeout is " + seconds(OrderlyStop.DEFAULT_TIMEOUT) + " s");
            return OrderlyStop.DEFAULT_TIMEOUT;
        }
    }

    /** stop_timeout: finite seconds, from 0 to a day, like delay:. */
    private static void checkStopTimeout(Options options) throws JRestartException {
        Double timeout = options.stopTimeout;
        if (timeout == null) return;
        if (!(timeout >= 0) || Double.isInfinite(timeout)) {
            throw JRestartException.invalid("stop_timeout: must be a finite number of seconds >= 0, got "
                    + seconds(timeout));
        }
        if (timeout > Options.MAX_DELAY) {
            throw JRestartException.invalid("stop_timeout: must be at most " + seconds(Options.MAX_DELAY)
                    + " seconds (one day), got " + seconds(timeout));
        }
    }

    private static Plan detached(Choice choice, Options options, Map<String, byte[]> environment, boolean restart)
            throws JRestartException {
        if (options.strategy != Strategy.SPAWN && options.strategy != Strategy.FORK) {
            throw JRestartException.invalid("strategy: must be spawn or fork, got " + name(options.strategy));
        }
        if (options.close == null) throw JRestartException.invalid("close: must be all or sockets, got none");
        checkDelay(options);
        byte[] name = choice.command.get(0);
        try {
            Map<String, byte[]> env = childEnvironment(environment, options);
            byte[] path = Launcher.resolve(name, env.get("PATH"));
            List<byte[]> entries = entries(env);
            Native.checkCStrings(choice.command, "argument");
            // A shell runs what its exec is refused (ENOEXEC) as a script: where
            // the command goes through /bin/sh, refuse that here, as execve would.
            boolean throughShell = options.delay > 0 || options.strategy == Strategy.SPAWN && !Launcher.hasChdir();
            if (throughShell) Launcher.checkExecFormat(path, name);
            byte[] sleep = options.delay > 0 ? Launcher.sleepPath() : null;
            int[] keep;
            try {
                Launcher.checkDirectory(options.chdir);
                keep = Launcher.checkKeep(options.keep);
                if (options.log != null) Launcher.checkLog(options.log);
            } catch (JRestartException e) {
                throw e.within(" (launching " + Native.text(name) + ")");
            }
            return new Plan(choice, path, options, options.strategy, entries, keep, sleep, null, restart, null);
        } catch (JRestartException e) {
            throw e.command(name);
        }
    }

    /**
     * The plan of a named command handed to systemd-run. The checks detached
     * does are done on the command itself, not only on systemd-run: systemd
     * starts it later, in a transient unit whose failure nobody sees. A bare
     * name is looked up as for any detached command (systemd-run does the
     * same, in its caller's PATH) and handed on as the file found; systemd
     * execs it without a shell, so its format is always checked.
     */
    private static Plan escaped(Manager unit, Choice choice, Options options, Map<String, byte[]> environment)
            throws JRestartException {
        checkDelay(options);
        byte[] name = choice.command.get(0);
        List<byte[]> command = new ArrayList<byte[]>(choice.command);
        try {
            if (options.keep.length > 0) {
                throw JRestartException.invalid("keep: cannot reach a command that systemd-run starts: systemd starts"
                        + " it as a transient service, which inherits no descriptor of this JVM");
            }
            byte[] path = Launcher.resolve(name, childEnvironment(environment, options).get("PATH"));
            Native.checkCStrings(choice.command, "argument");
            Launcher.checkExecFormat(path, name);
            try {
                Launcher.checkDirectory(options.chdir);
                if (options.log != null) Launcher.checkLog(options.log);
            } catch (JRestartException e) {
                throw e.within(" (launching " + Native.text(name) + ")");
            }
            command.set(0, path);
        } catch (JRestartException e) {
            throw e.command(name);
        }
        Choice wrapped = new Choice(Escape.through(unit, command, options.chdir, options.log, options.env,
                options.delay), choice.source, choice.manager, null, Escape.why(unit));
        return detached(wrapped, escapeOptions(options), environment, true);
    }

    /**
     * systemd-run itself: started at once (the delay is the timer's), its output
     * to the log, in the JVM's environment (which --user needs to find its
     * manager); env:, keep: and unsetenv_others: are the command's, not its.
     */
    private static Options escapeOptions(Options options) {
        return new Options().close(options.close).chdir(new byte[] {'/'}).log(options.log)
                .strategy(options.strategy).reason(options.reason);
    }

    /**
     * The plan to replace this process's image, same pid: argv, or when null
     * this process's own command line and executable (/proc/self/cmdline and
     * exe). Only env, unsetenvOthers and keep of options apply: the cwd and
     * stdio stay. It is a restart of the service, as one in place is: the
     * guard counts it against limitSetting (as restart's), and the new image
     * gets its record.
     */
    public static Plan reexec(List<byte[]> argv, Options options, Map<String, byte[]> environment,
                              RestartLimit limitSetting) throws JRestartException {
        Support.require("reexec");
        checkStopTimeout(options);
        RestartLimit limit = RestartLimit.effective(limitSetting, environment);
        Plan plan;
        if (argv == null) {
            plan = inPlace(new Choice(Reexec.selfArgv(), Source.SELF, null, null), options, environment);
        } else {
            if (argv.isEmpty()) throw JRestartException.invalid("argv must not be empty");
            Map<String, byte[]> env = childEnvironment(environment, options);
            byte[] path = Launcher.resolve(argv.get(0), env.get("PATH"));
            plan = execPlan(new Choice(argv, Source.ARGUMENT, null, null), path, options, environment, env, Strategy.EXEC);
        }
        return plan.restarting(limit, Detect.detect(Proc.selfPid(), text(environment)));
    }

    /** An exec of this process's own program and command line. */
    private static Plan inPlace(Choice choice, Options options, Map<String, byte[]> environment)
            throws JRestartException {
        checkDelay(options);
        Map<String, byte[]> env = childEnvironment(environment, options);
        return execPlan(choice, Reexec.selfProgram(), options, environment, env, Strategy.EXEC);
    }

    /** The options an overlap restart takes; the others do not apply to a JVM started as this one was. */
    private static final List<String> OVERLAP_OPTIONS = Arrays.asList("overlap", "ready_timeout", "pidfile", "env",
            "keep", "unsetenv_others", "listeners", "inherited_channel", "stop_timeout", "reason");
    private static final List<String> OVERLAP_ONLY = Arrays.asList("ready_timeout", "pidfile");
    /** The managers that start their service again when its process exits: they would fight an overlap. */
    private static final List<String> SUPERVISORS = Arrays.asList("supervisord", "runit", "daemontools", "s6");

    /**
     * The plan of an overlap restart: this JVM's own program and command line
     * started beside it, as an exec in place would run them, taking over once
     * ready. Decided here: which manager tracks the new JVM (a Type=notify
     * systemd unit told MAINPID=, a pid file rewritten, or none), and refused
     * where the manager would fight it or the machine cannot hold two JVMs.
     */
    private static Plan overlap(Options options, Map<String, byte[]> environment) throws JRestartException {
        for (String name : options.given) {
            if (!OVERLAP_OPTIONS.contains(name)) {
                throw JRestartException.invalid(name + ": does not apply with overlap: true (the new JVM runs this"
                        + " JVM's own command line, in its cwd and session, with its stdio)");
            }
        }
        checkReadyTimeout(options.readyTimeout);
        int pid = Proc.selfPid();
        Map<String, String> text = text(environment);
        String cgroup = Proc.read("/proc/" + pid + "/cgroup");
        Manager container = Detect.container(pid, cgroup);
        if (container != null) {
            throw JRestartException.state("overlap restart refused: this JVM's container ends with its PID 1 ("
                    + String.join("; ", container.evidence) + "): when PID 1 of a pid namespace exits, the kernel"
                    + " kills every process in it, the new JVM too. restart! without overlap: restarts in place");
        }
        Manager manager = Detect.detect(pid, text);
        if (manager != null && SUPERVISORS.contains(manager.name)) {
            throw JRestartException.state("overlap restart refused: " + manager.name + " runs this JVM as "
                    + manager.service + " (" + String.join("; ", manager.evidence) + ") and starts it again when it"
                    + " exits: a second JVM would run beside the new one. restart! without overlap: restarts"
                    + " through " + manager.name);
        }
        PidFile pidFile = options.pidFile != null ? PidFile.given(options.pidFile, pid) : PidFile.find(pid);
        String why;
        Manager unit = null;
        if (manager != null && manager.name.equals("systemd")) {
            unit = mainProcess(manager);
            why = Systemctl.overlapUnit(unit.service, unit.command.contains("--user"), environment.get("NOTIFY_SOCKET") != null);
        } else if (pidFile != null) {
            why = "the pid file " + pidFile + " names this JVM (" + pidFile.how + "): it is rewritten with the new"
                    + " JVM's pid once that is ready, for the init script's stop and status";
        } else {
            why = "no service manager tracks this JVM (" + Detect.explain(pid, text) + ") and no pid file names it:"
                    + " the new JVM simply takes over";
        }
        HeadRoom.check(cgroup);
        Map<String, byte[]> env = childEnvironment(environment, options);
        Plan plan = execPlan(new Choice(Reexec.selfArgv(), Source.SELF, unit, null), Reexec.selfProgram(), options,
                environment, env, Strategy.OVERLAP);
        plan.overlap = why;
        plan.readyTimeout = options.readyTimeout;
        plan.pidFile = pidFile;
        plan.notifiedUnit = unit;
        return plan;
    }

    /** ready_timeout: finite seconds, above 0, at most a day. */
    private static void checkReadyTimeout(double timeout) throws JRestartException {
        if (!(timeout > 0) || Double.isInfinite(timeout)) {
            throw JRestartException.invalid("ready_timeout: must be a finite number of seconds > 0, got "
                    + seconds(timeout));
        }
        if (timeout > Options.MAX_DELAY) {
            throw JRestartException.invalid("ready_timeout: must be at most " + seconds(Options.MAX_DELAY)
                    + " seconds (one day), got " + seconds(timeout));
        }
    }

    private static Plan execPlan(Choice choice, byte[] path, Options options, Map<String, byte[]> service,
                                 Map<String, byte[]> env, Strategy strategy) throws JRestartException {
        Listeners.Handover handover = Listeners.handover(options.listeners, options.inheritedChannel);
        String listeners = handover.value();
        String unserved = handover.unserved();
        if (listeners != null) env.put(Listeners.VARIABLE, listeners.getBytes(StandardCharsets.UTF_8));
        if (unserved != null) env.put(Listeners.UNSERVED_VARIABLE, unserved.getBytes(StandardCharsets.UTF_8));
        if (listeners != null || unserved != null) {
            // Same pid after the exec (or the old JVM's, the parent of one started beside it): the new JVM
            // knows these are for it, and a child of it knows they are not.
            env.put(Listeners.PID_VARIABLE, String.valueOf(Proc.selfPid()).getBytes(StandardCharsets.UTF_8));
        }
        List<byte[]> entries = entries(env);
        Native.checkCStrings(choice.command, "argument");
        Reexec.checkImage(path, choice.command.get(0));
        int[] keep = Launcher.checkKeep(options.keep);
        int[] fds = handover.fds();
        int[] all = Arrays.copyOf(keep, keep.length + fds.length);
        System.arraycopy(fds, 0, all, keep.length, fds.length);
        return new Plan(choice, path, options, strategy, entries, Launcher.checkKeep(all), null,
                service.get("NOTIFY_SOCKET"), false, handover);
    }

    /** Refuses a reason: a restart could not keep (a NUL, too long). */
    public static void checkReason(String reason) throws JRestartException {
        if (reason == null) return;
        if (reason.indexOf('\0') >= 0) throw JRestartException.invalid("reason: contains a NUL character");
        int length = reason.getBytes(StandardCharsets.UTF_8).length;
        if (length > RestartRecord.REASON_LIMIT) {
            throw JRestartException.invalid("reason: is " + length + " bytes long; at most "
                    + RestartRecord.REASON_LIMIT + " are kept");
        }
    }

    private static void checkDelay(Options options) throws JRestartException {
        if (!(options.delay >= 0) || Double.isInfinite(options.delay)) {
            throw JRestartException.invalid("delay: must be a finite number of seconds >= 0, got " + seconds(options.delay));
        }
        if (options.delay > Options.MAX_DELAY) {
            throw JRestartException.invalid("delay: must be at most " + seconds(Options.MAX_DELAY) + " seconds (one"
                    + " day), got " + seconds(options.delay) + ": a later restart is a schedule (cron, a systemd timer)");
        }
    }

    /**
     * The restart command used when none is given: setting, else
     * JRESTART_COMMAND, else the detected manager's; null when there is none.
     */
    public static Choice choose(List<byte[]> setting, Map<String, byte[]> environment) throws JRestartException {
        Support.require("choosing the restart command");
        Choice configured = configured(setting, environment);
        return configured != null ? configured : detected(environment);
    }

    /**
     * The restart command configured without detection: setting, else
     * JRESTART_COMMAND; null when neither is set. Touches neither libc nor
     * /proc, so it answers on any platform.
     */
    public static Choice configured(List<byte[]> setting, Map<String, byte[]> environment) throws JRestartException {
        if (setting != null && !setting.isEmpty()) return new Choice(setting, Source.SETTING, null, null);
        byte[] variable = environment.get(COMMAND_VARIABLE);
        String line = variable == null ? "" : Native.text(variable);
        if (!line.trim().isEmpty()) {
            List<byte[]> words = new ArrayList<byte[]>();
            try {
                for (String word : ShellWords.split(line)) words.add(word.getBytes(StandardCharsets.UTF_8));
            } catch (JRestartException e) {
                throw JRestartException.invalid(COMMAND_VARIABLE + "=" + quote(line) + " cannot be split: "
                        + e.subject());
            }
            return new Choice(words, Source.ENVIRONMENT, null, null);
        }
        return null;
    }

    private static Choice detected(Map<String, byte[]> environment) throws JRestartException {
        Manager manager = Detect.detect(Proc.selfPid(), text(environment));
        if (manager == null) return null;
        if (manager.name.equals(Detect.CONTAINER)) {
            return new Choice(Reexec.selfArgv(), Source.DETECTED, manager, "nothing started from here outlives"
                    + " this container's PID 1; in place, the container stays");
        }
        if (manager.name.equals("systemd")) manager = mainProcess(manager);
        if (manager.name.equals("systemd") && !manager.command.contains("--user") && Native.LIBC.geteuid() != 0) {
            return new Choice(Reexec.selfArgv(), Source.DETECTED, manager, "not root: systemd would refuse"
                    + " systemctl restart (Access denied); in place, the unit keeps its MainPID and sees no stop");
        }
        List<byte[]> words = new ArrayList<byte[]>();
        for (String word : manager.command) words.add(word.getBytes(StandardCharsets.UTF_8));
        return new Choice(words, Source.DETECTED, manager, null);
    }

    /**
     * unit, when this JVM is its main process, with that as evidence. Any other
     * process in the unit's cgroup (a build a CI unit started, a cron job) is
     * not the service: restarting the unit, or exec'ing that process in place,
     * is refused, unless the caller names the unit.
     */
    private static Manager mainProcess(Manager unit) throws JRestartException {
        int self = Proc.selfPid();
        boolean user = unit.command.contains("--user");
        String name = "JRestart.command = %w[systemctl" + (user ? " --user" : "") + " --no-block restart " + unit.service
                + "] (or the same command given to restart!, or in " + COMMAND_VARIABLE + ")";
        int main;
        try {
            main = Systemctl.mainPid(unit.service, user);
        } catch (JRestartException e) {
            throw JRestartException.state("restart refused: this JVM (pid " + self + ") runs in the cgroup of "
                    + unit.service + ", and whether it is the unit's main process is unknown: " + e.getMessage()
                    + ". If restarting " + unit.service + " is what you want, name it: " + name);
        }
        if (main != self) {
            String comm = main > 0 ? Proc.read("/proc/" + main + "/comm") : null;
            throw JRestartException.state("restart refused: this JVM (pid " + self + ") runs in the cgroup of "
                    + unit.service + " but is not its main process (MainPID=" + main
                    + (comm == null ? "" : ", " + comm.trim()) + "): it was started by that service (a build, a job,"
                    + " a script), and restarting " + unit.service + " would restart that service instead. If that is"
                    + " what you want, name it: " + name);
        }
        List<String> evidence = new ArrayList<String>(unit.evidence);
        evidence.add("its MainPID " + main + " is this JVM (systemctl show)");
        return new Manager(unit.name, unit.service, unit.command, evidence);
    }

    /**
     * Starts the command. An exec in place returns only by throwing when the
     * delay is 0 (the process is replaced); with a delay it returns null at
     * once and a daemon thread execs after the delay, reporting a failure on
     * stderr, since nobody is left to catch it. Nothing starts while test
     * mode (ProcessWide) is on. A restart runs the restart hooks
     * (RestartHooks) first, once the guard has counted it; a veto throws
     * VETOED and the guard forgets it.
     */
    public Child execute() throws JRestartException {
        return execute(null, (Wakeup) null);
    }

    /**
     * execute, as the process's only restart (restart! and the facade's
     * restart): while one is under way, or once one has started, this throws
     * STATE, whichever JRuby runtime or class loader asks. One that throws, or
     * whose exec in place fails after its delay, gives the turn back.
     */
    public Child executeOnce() throws JRestartException {
        return executeOnce(null);
    }

    /**
     * executeOnce, where wakeup.wake() (JRuby's Thread#raise) or
     * Thread.interrupt ends an overlap restart's wait for the new JVM: it is
     * stopped, and this throws. wakeup may be null: Thread.interrupt only.
     */
    public Child executeOnce(Wakeup wakeup) throws JRestartException {
        refuseInTestMode();
        String latch = ProcessWide.claimRestart();
        try {
            return execute(latch, wakeup);
        } catch (JRestartException | RuntimeException e) {
            ProcessWide.releaseRestart(latch);
            throw e;
        }
    }

    /** execute, with wakeup ending an overlap restart's wait (executeOnce(Wakeup)). */
    public Child execute(Wakeup wakeup) throws JRestartException {
        return execute(null, wakeup);
    }

    private Child execute(String latch, Wakeup wakeup) throws JRestartException {
        refuseInTestMode();
        if (!restarts()) return run(null, null, null, Long.MAX_VALUE, Collections.<String>emptyList());
        if (strategy == Strategy.OVERLAP) return overlapped(System.currentTimeMillis(), wakeup);
        // Held from now on: the service may close its listeners before the exec (its stop, at_exit).
        int[][] held = handover == null || strategy == Strategy.OVERLAP ? null : handover.hold();
        try {
            return execute(latch, held);
        } catch (JRestartException | RuntimeException e) {
            release(held);
            throw e;
        }
    }

    private static void release(int[][] held) {
        if (held != null) for (int fd : held[0]) Native.LIBC.close(fd);
    }

    private Child execute(String latch, int[][] held) throws JRestartException {
        if (strategy == Strategy.EXEC && delay > 0) {
            // Refused now when the limit is reached already; counted and recorded only when the exec
            // happens, so that a JVM that dies during the delay leaves no restart behind.
            StateDirectory directory = stateDirectory();
            if (directory != null && !limit.off()) {
                Guard.check(directory, guardKey(), serviceName(), limit, System.currentTimeMillis());
            }
            execLater(latch, System.currentTimeMillis(), held);
            return null;
        }
        return counted(System.currentTimeMillis(), held);
    }

    private void refuseInTestMode() throws JRestartException {
        if (ProcessWide.testMode()) {
            throw JRestartException.state("the plan of " + Native.text(command.get(0)) + " was not executed: test mode"
                    + " is on (JRestart::Testing, or JRestart.setTestMode from Java), nothing is started");
        }
    }

    /** The state directory, from the JVM's own environment; null (said) when the guard is off and there is none. */
    private StateDirectory stateDirectory() throws JRestartException {
        try {
            return StateDirectory.find(System.getenv());
        } catch (JRestartException e) {
            if (!limit.off()) {
                throw e.within("; the restart-loop guard cannot count this restart, so nothing was started ("
                        + RestartLimit.VARIABLE + "=off restarts without it)").command(command.get(0));
            }
            Warnings.warn(e.getMessage() + "; the new JVM gets no restart record");
            return null;
        }
    }

    /**
     * The overlap restart (asked for at requested): counted and recorded, the
     * new JVM started beside this one; once it is ready the manager is told
     * (pid file, MAINPID=), the restart hooks run, and this JVM stops in
     * order and exits 0: returns never. A new JVM that exits, is not ready in
     * time, or whose wait is interrupted is stopped (SIGTERM, then SIGKILL)
     * and this throws with its status and output, the service as it was; the
     * guard keeps the attempt counted, so that a new JVM that cannot boot is
     * not retried for ever. A veto stops the new JVM too, and is not counted.
     */
    private Child overlapped(long requested, Wakeup wakeup) throws JRestartException {
        if (wakeup == null) {
            // Only Thread.interrupt ends the wait then; the eventfd is opened here, not for every launch.
            try (Wakeup own = new Wakeup()) {
                return overlapped(requested, own);
            }
        }
        StateDirectory directory = stateDirectory();
        Guard guard = directory == null || limit.off() ? null
                : Guard.claim(directory, guardKey(), serviceName(), limit, System.currentTimeMillis());
        RestartRecord.Pending record = null;
        Overlap beside = null;
        boolean handedOver = false;
        boolean vetoed = false;
        boolean stopping = false;
        try {
            Reexec.checkImage(path, command.get(0));
            if (directory != null) {
                record = RestartRecord.write(directory, serviceKey(service), command, reason, mechanism(),
                        Proc.selfPid(), requested);
            }
            final long began = System.nanoTime();
            beside = Overlap.start(request(RestartRecord.identify(environment, record)),
                    handover != null && handover.inheritedChannel != null ? handover.inheritedChannel.fd : 0,
                    notifiedUnit != null);
            Overlap.Outcome outcome = beside.await((long) (readyTimeout * 1e9), wakeup);
            if (outcome != Overlap.Outcome.READY) {
                String how = beside.abandon();
                String tail = beside.tail();
                throw JRestartException.state("the new JVM (pid " + beside.pid() + ") " + (outcome == Overlap.Outcome.EXITED
                        ? "exited before it was ready: " + how
                        : outcome == Overlap.Outcome.TIMEOUT ? "was not ready within " + seconds(readyTimeout)
                        + " s (ready_timeout:), and was stopped: " + how
                        : "was stopped, because the wait for it was interrupted: " + how)
                        + "; this JVM goes on serving as before. "
                        + (tail.isEmpty() ? "It wrote nothing." : "The end of its output:\n" + tail));
            }
            if (notifiedUnit != null && beside.parentOfNew() != Proc.parentPid()) {
                int parent = beside.parentOfNew();
                beside.abandon();
                throw JRestartException.state("the new JVM (pid " + beside.pid() + ") was adopted by pid " + parent
                        + ", not by systemd (pid " + Proc.parentPid() + "), which takes as " + notifiedUnit.service
                        + "'s main process only a process of its own (a subreaper between them?); it was stopped,"
                        + " and this JVM goes on serving");
            }
            handOver(beside.pid());
            handedOver = true;
            long deadline = OrderlyStop.deadline(stopTimeout);
            List<String> late;
            try {
                late = RestartHooks.run(hookArgument(deadline));
            } catch (JRestartException e) {
                vetoed = e.kind() == JRestartException.Kind.VETOED;
                throw e;
            }
            if (!late.isEmpty()) {
                Warnings.warn("the stop timeout (" + seconds(stopTimeout) + " s) passed while restart"
                        + " hooks still ran, the restart goes on without them: " + String.join(", ", late));
            }
            final RestartRecord.Pending written = record;
            final List<String> lateHooks = late;
            OrderlyStop.stopAndExit(deadline, new OrderlyStop.Exec() {
                @Override
                public void exec(List<String> stillRunning) {
                    if (written == null) return;
                    List<String> all = new ArrayList<String>(lateHooks);
                    all.addAll(stillRunning);
                    written.overlapEnded(all, (System.nanoTime() - began) / 1e9);
                }
            });
            // The JVM exits on a thread of its own; this one only waits, so that a host tearing its runtime down
            // (which kills this thread through the wakeup) does not hold the exit up.
            while (!wakeup.woken() && !Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            stopping = true;
            throw JRestartException.state("this JVM is stopping: the new JVM (pid " + beside.pid() + ") serves now");
        } catch (JRestartException | RuntimeException e) {
            if (stopping) throw e;
            if (handedOver) takeBack();
            if (beside != null) beside.abandon();
            if (record != null) record.rollback();
            if (guard != null && vetoed) guard.release();
            throw e;
        }
    }

    /** Tells the manager that tracks this JVM that newPid is the service now. */
    private void handOver(int newPid) throws JRestartException {
        if (pidFile != null) pidFile.replace(newPid);
        if (notifiedUnit != null && !Notify.send(notifySocket, "MAINPID=" + newPid)) {
            if (pidFile != null) pidFile.replace(Proc.selfPid());
            throw JRestartException.state("systemd was not told that the new JVM (pid " + newPid + ") is the main"
                    + " process of " + notifiedUnit.service + ": this JVM has no NOTIFY_SOCKET; it goes on serving");
        }
    }

    /** After a veto: this JVM is the service again. */
    private void takeBack() {
        try {
            int self = Proc.selfPid();
            if (pidFile != null) pidFile.replace(self);
            if (notifiedUnit != null) Notify.send(notifySocket, "MAINPID=" + self);
        } catch (JRestartException e) {
            Warnings.warn("the manager could not be told that this JVM is the service again: " + e.getMessage());
        }
    }

    /** Counts and records the restart, then starts it; asked for at requested. */
    private Child counted(long requested, int[][] held) throws JRestartException {
        StateDirectory directory = stateDirectory();
        Guard guard = directory == null || limit.off() ? null
                : Guard.claim(directory, guardKey(), serviceName(), limit, System.currentTimeMillis());
        RestartRecord.Pending record = null;
        try {
            // Nothing is stopped before the exec is known to work: the hooks may drain the service.
            if (strategy == Strategy.EXEC) Reexec.checkImage(path, command.get(0));
            // One deadline for the hooks and the orderly stop after them, as a manager gives its stop one.
            long deadline = OrderlyStop.deadline(stopTimeout);
            // Before anything is started or exec'd; a veto throws, and the guard takes its claim back.
            List<String> late = RestartHooks.run(hookArgument(deadline));
            if (!late.isEmpty()) {
                Warnings.warn("the stop timeout (" + seconds(stopTimeout) + " s) passed while restart"
                        + " hooks still ran, the restart goes on without them: " + String.join(", ", late));
            }
            if (directory != null) {
                record = RestartRecord.write(directory, serviceKey(service), command, reason, mechanism(),
                        Proc.selfPid(), requested);
            }
            return run(guard, record, held, deadline, late);
        } catch (JRestartException | RuntimeException e) {
            if (record != null) record.rollback();
            if (guard != null) guard.release();
            throw e;
        }
    }

    /**
     * The restart as its hooks see it (RestartHooks): JDK types only, as a
     * hook may come from another class loader.
     */
    private Map<String, Object> hookArgument(long deadline) {
        // A unit's TimeoutStopSec=infinity: no deadline, told as the largest one.
        long timeout = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : (long) (stopTimeout * 1e9);
        Map<String, Object> restart = new LinkedHashMap<String, Object>();
        restart.put(RestartHooks.REASON, reason);
        restart.put(RestartHooks.MECHANISM, mechanism().name().toLowerCase(Locale.ROOT));
        List<String> words = new ArrayList<String>();
        for (byte[] word : command) words.add(Native.text(word));
        restart.put(RestartHooks.COMMAND, Collections.unmodifiableList(words));
        restart.put(RestartHooks.DEADLINE_NANOS, deadline);
        restart.put(RestartHooks.DEADLINE_MILLIS, deadline == Long.MAX_VALUE ? Long.MAX_VALUE
                : System.currentTimeMillis() + (deadline - System.nanoTime()) / 1000000);
        restart.put(RestartHooks.TIMEOUT_NANOS, timeout);
        return Collections.unmodifiableMap(restart);
    }

    /** The exec in place after the delay, from a daemon thread: the caller goes on serving meanwhile. */
    private void execLater(final String latch, final long requested, final int[][] held) {
        Thread thread = new Thread(new Runnable() {
            @Override
            public void run() {
                try {
                    Thread.sleep((long) (delay * 1000));
                    counted(requested, held);
                } catch (JRestartException e) {
                    release(held);
                    if (latch != null) ProcessWide.releaseRestart(latch);
                    Warnings.warn((e.kind() == JRestartException.Kind.VETOED ? "the exec in place did not happen, the"
                            : "the exec in place failed, the") + " service goes on as it was: " + e.getMessage());
                } catch (RuntimeException e) {
                    release(held);
                    if (latch != null) ProcessWide.releaseRestart(latch);
                    Warnings.warn("the exec in place failed, the service goes on as it was: " + e.getMessage());
                } catch (InterruptedException e) {
                    release(held);
                    if (latch != null) ProcessWide.releaseRestart(latch);
                    Warnings.warn("the exec in place was interrupted before it happened");
                }
            }
        }, "jrestart-exec-in-place");
        thread.setDaemon(true);
        thread.start();
    }

    private Child run(Guard guard, RestartRecord.Pending record, int[][] held, long deadline, List<String> late)
            throws JRestartException {
        try {
            if (strategy == Strategy.EXEC) {
                stopAndExec(record, held, deadline, late);
                throw new AssertionError("Runtime.exit returned");
            }
            if (record != null) record.stillRunning(late);
            StartLimit startLimit = limitedUnit == null ? null
                    : StartLimit.of(limitedUnit.service, limitedUnit.command.contains("--user"));
            StartCount starts = startLimit == null ? null : new StartCount(startLimit.unit, startLimit.user,
                    startLimit.burst, startLimit.intervalMicros, System.getenv());
            if (starts != null) starts.claim(Notify.monotonicMicros());
            // The manager's SIGTERM may come while FailFast still watches the command: the orderly
            // SIGTERM is ready first, and taken back if the command never started.
            if (restart) Termination.install(stopTimeout);
            try {
                if (failFast) return FailFast.launch(request(environment), record, managerClient());
                // The delay's /bin/sh waits for the command and records its status for the new JVM.
                LaunchRequest request = request(environment);
                return Launcher.launch(delay > 0 && record != null
                        ? request.reportingStatus(record.statusFile(), record.id()) : request, -1);
            } catch (JRestartException | RuntimeException e) {
                if (restart) Termination.uninstall();
                if (starts != null) starts.release();
                throw e;
            }
        } catch (JRestartException e) {
            throw e.command(command.get(0));
        }
    }

    /**
     * The orderly stop, then the exec in place, same pid (OrderlyStop): never
     * returns. Everything that can be checked was checked before the hooks
     * ran (counted): after the stop there is no way back, and a failed exec
     * ends the JVM. late: the restart hooks still running at the deadline.
     */
    private void stopAndExec(final RestartRecord.Pending record, int[][] held, long deadline,
                             final List<String> late) throws JRestartException {
        LaunchRequest identified = request(RestartRecord.identify(environment, record));
        // The listeners go back on their numbers even if the stop closed them.
        final LaunchRequest request = held == null ? identified : identified.holding(held);
        OrderlyStop.stopAndExec(deadline, new OrderlyStop.Exec() {
            @Override
            public void exec(List<String> stillRunning) throws JRestartException {
                List<String> all = new ArrayList<String>(late);
                all.addAll(stillRunning);
                if (record != null) record.stillRunning(all);
                Reexec.exec(request, notifier());
            }
        });
    }

    /**
     * Whether the command is a manager's own client (the detected sv, svc,
     * s6-svc, supervisorctl or systemctl, the systemd-run of a named command,
     * or a named systemctl under systemd): it asks the manager, which starts
     * the service, and hands the service none of its stdio. Any other named
     * command may start the service itself (an init script), which keeps its
     * stdio; so may systemd-run named with --pipe or --pty.
     */
    boolean managerClient() {
        if (source == Source.DETECTED || escape != null) return true;
        String first = Native.text(command.get(0));
        return limitedUnit != null && first.substring(first.lastIndexOf('/') + 1).equals("systemctl");
    }

    /** A restart of the service (restart, in place, reexec), not a launch: the guard counts it, the record tells of it. */
    boolean restarts() {
        return restart || strategy == Strategy.EXEC || strategy == Strategy.OVERLAP;
    }

    /** The guard's key: the service as detected, else the command. */
    private String guardKey() {
        if (service != null) return service.name + " " + service.service;
        return "command " + commandText();
    }

    String serviceName() {
        if (service != null) return service.name + " service " + service.service;
        return "the service restarted by " + commandText();
    }

    private String commandText() {
        List<String> words = new ArrayList<String>();
        for (byte[] word : command) words.add(Native.text(word));
        return String.join(" ", words);
    }

    RestartRecord.Mechanism mechanism() {
        if (strategy == Strategy.EXEC) return RestartRecord.Mechanism.IN_PLACE;
        if (strategy == Strategy.OVERLAP) return RestartRecord.Mechanism.OVERLAP;
        if (escape != null) return RestartRecord.Mechanism.SYSTEMD_RUN;
        return strategy == Strategy.FORK ? RestartRecord.Mechanism.FORK : RestartRecord.Mechanism.SPAWN;
    }

    /** The restart-loop guard's limit for this plan; OFF for a launch. */
    public RestartLimit limit() {
        return limit;
    }

    /** What the launch layer carries out for this plan, with environment (NAME=value entries). */
    private LaunchRequest request(List<byte[]> environment) {
        return new LaunchRequest(command, path, environment, strategy, close, keep, chdir, log, delay, sleep);
    }

    /** A Type=notify unit is told the service reloads; the new image sends READY=1 when it is. */
    private ExecListener notifier() {
        return new ExecListener() {
            private boolean notified;

            @Override
            public void beforeExec() throws JRestartException {
                notified = Notify.send(notifySocket, "RELOADING=1\nMONOTONIC_USEC=" + Notify.monotonicMicros());
            }

            @Override
            public void execFailed() throws JRestartException {
                if (notified) Notify.send(notifySocket, "READY=1");
            }
        };
    }

    /** The key a service's restart files go by: the service as detected, else this JVM's own command line. */
    static String serviceKey(Manager detected) throws JRestartException {
        return detected != null ? detected.name + " " + detected.service : RestartRecord.commandLineKey();
    }

    /**
     * Claims the record of the restart that started this JVM (RestartRecord.last),
     * once per JVM: the JRuby binding calls it when jrestart loads, the Java
     * facade when it is first used. Never throws: a JVM that cannot read its
     * record has none.
     */
    public static void claimRecord() {
        String key;
        try {
            key = serviceKey(Detect.detect(Proc.selfPid(), System.getenv()));
        } catch (JRestartException | RuntimeException e) {
            Warnings.warn("the record of the restart that started this JVM cannot be read: " + e.getMessage());
            return;
        }
        RestartRecord.claim(key);
        Overlap.adopt();
    }

    private static boolean toldReady;

    /**
     * The service is ready (JRestart.ready!): in a JVM an overlap restart
     * started, the old JVM is told, which hands over and stops; true then.
     * Elsewhere systemd is told READY=1 where $NOTIFY_SOCKET is set (the
     * first start of a Type=notify unit), and this returns false. Only the
     * first call does anything; later ones return false.
     */
    public static synchronized boolean ready() throws JRestartException {
        Support.require("ready");
        if (toldReady) return false;
        toldReady = true;
        // Adopted now, while the old JVM (which the listener variables name) is still the parent.
        Listeners.inherited();
        if (Overlap.signalReady()) return true;
        String socket = System.getenv("NOTIFY_SOCKET");
        // In a JVM started beside the unit's main process, the old one tells systemd (MAINPID=).
        if (socket != null && Overlap.oldPid() < 0) Notify.send(socket.getBytes(StandardCharsets.UTF_8), "READY=1");
        return false;
    }

    /**
     * Launcher.prepare, and what a plan and reexec! load: the log and delay
     * checks and the descriptor table, so that the first restart loads nothing.
     */
    public static void prepare() throws JRestartException {
        Launcher.prepare();
        if (Descriptors.statSupported() && new File("/proc/self/fd").isDirectory()) {
            Options rehearsal = new Options().log("/dev/null".getBytes(StandardCharsets.UTF_8)).delay(1);
            launch(Collections.singletonList("/bin/sh".getBytes(StandardCharsets.UTF_8)), rehearsal,
                    Collections.<String, byte[]>emptyMap()).descriptors();
        }
    }

    /** Every open descriptor of this process and its fate, listed once, when first asked for. */
    public List<Entry> descriptors() throws JRestartException {
        List<Entry> entries = descriptors;
        if (entries != null) return entries;
        List<Descriptor> listed = Descriptors.list();
        Inheritance inheritance = close == CloseMode.SOCKETS
                ? Inheritance.sparingNonSockets(keep, listed) : Inheritance.keeping(keep);
        entries = new ArrayList<Entry>();
        for (Descriptor d : listed) entries.add(new Entry(d, fate(d, inheritance)));
        descriptors = entries = Collections.unmodifiableList(entries);
        return entries;
    }

    private Fate fate(Descriptor d, Inheritance inheritance) {
        if (d.fd <= 2) return strategy == Strategy.EXEC || strategy == Strategy.OVERLAP && d.fd == 0 && inheritedChannel() == null
                ? Fate.INHERITED : Fate.REPLACED;
        if (inheritance.kept(d.fd)) return Fate.INHERITED;
        if (!inheritance.untouched(d.fd)) return Fate.WITHHELD;
        return d.closeOnExec ? Fate.CLOSE_ON_EXEC : Fate.INHERITED;
    }

    public List<byte[]> command() {
        return copy(command);
    }

    public byte[] path() {
        return path.clone();
    }

    public Source source() {
        return source;
    }

    public Manager manager() {
        return manager;
    }

    public Strategy strategy() {
        return strategy;
    }

    public CloseMode close() {
        return close;
    }

    public int[] keep() {
        return keep.clone();
    }

    /** The listener an exec in place puts on the new JVM's fd 0, or null. */
    public Listener inheritedChannel() {
        return handover == null ? null : handover.inheritedChannel;
    }

    /** The listeners an exec in place hands to the new JVM (empty for a command). */
    public List<Listener> listeners() {
        return handover == null ? Collections.<Listener>emptyList() : handover.listeners;
    }

    /** The new program's cwd; null for an exec in place, which keeps the current one. */
    public byte[] chdir() {
        return chdir == null ? null : chdir.clone();
    }

    /** The file stdout and stderr are appended to; null for /dev/null. */
    public byte[] log() {
        return log == null ? null : log.clone();
    }

    public double delay() {
        return delay;
    }

    public boolean unsetenvOthers() {
        return unsetenvOthers;
    }

    /** Why the restart was asked for (reason:); null when not said. */
    public String reason() {
        return reason;
    }

    /**
     * Seconds the orderly stop may take (stop_timeout:, else the unit's
     * TimeoutStopUSec under systemd, else 90; infinite for a unit with
     * none); null for a launch, which stops nothing.
     */
    public Double stopTimeout() {
        return stopTimeout;
    }

    /** An overlap restart: which manager tracks the new JVM and why (plan(overlap: true)); null otherwise. */
    public String overlap() {
        return overlap;
    }

    /** Seconds the new JVM of an overlap restart has to be ready; 0 for any other plan. */
    public double readyTimeout() {
        return readyTimeout;
    }

    /** The pid file an overlap restart rewrites with the new JVM's pid; null: none. */
    public String pidFile() {
        return pidFile == null ? null : pidFile.toString();
    }

    /** Why the service restarts in place (same pid, its own command line); null when a command restarts it. */
    public String inPlace() {
        return inPlace;
    }

    /** The env option as given: NAME to value, null for a removed name. */
    public Map<String, byte[]> env() {
        return env;
    }

    /** What stdout and stderr go to, as the table shows it. */
    public String stdout() {
        return PlanText.stdout(this);
    }

    /** How the command was chosen, in words. */
    public String chosenBy() {
        return PlanText.chosenBy(this);
    }

    /** The plan as a table for people, descriptors included (they are listed now if they were not yet). */
    public String describe() throws JRestartException {
        return PlanText.describe(this);
    }

    @Override
    public String toString() {
        try {
            return describe();
        } catch (JRestartException e) {
            return "JRestart plan for " + Native.text(command.get(0)) + " (descriptors cannot be listed: "
                    + e.getMessage() + ")";
        }
    }

    /** The new program's environment: the service's (unless unsetenvOthers) with options.env over it. */
    private static Map<String, byte[]> childEnvironment(Map<String, byte[]> service, Options options)
            throws JRestartException {
        Map<String, byte[]> env = new LinkedHashMap<String, byte[]>();
        if (!options.unsetenvOthers) env.putAll(service);
        // Only an exec in place hands the record's id on (RestartRecord.identify), never an inherited one.
        env.remove(RestartRecord.ID_VARIABLE);
        // Listeners are named only by the exec in place that hands them on (LISTEN_PID
        // stays valid across it, and the activated descriptors may be closed by then).
        for (String name : Listeners.VARIABLES) env.remove(name);
        for (Map.Entry<String, byte[]> e : options.env.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf('\0') >= 0) {
                throw JRestartException.invalid("env: name " + quote(name) + " is not a valid name");
            }
            if (e.getValue() == null) env.remove(name);
            else env.put(name, e.getValue());
        }
        return env;
    }

    /** NAME=value entries; names are Latin-1 text so that every byte maps to one char and back. */
    private static List<byte[]> entries(Map<String, byte[]> env) throws JRestartException {
        List<byte[]> entries = new ArrayList<byte[]>(env.size());
        for (Map.Entry<String, byte[]> e : env.entrySet()) {
            byte[] key = e.getKey().getBytes(StandardCharsets.ISO_8859_1);
            byte[] entry = Arrays.copyOf(key, key.length + 1 + e.getValue().length);
            entry[key.length] = '=';
            System.arraycopy(e.getValue(), 0, entry, key.length + 1, e.getValue().length);
            entries.add(entry);
        }
        Native.checkCStrings(entries, "environment entry");
        return entries;
    }

    private static Map<String, String> text(Map<String, byte[]> environment) {
        Map<String, String> text = new LinkedHashMap<String, String>();
        for (Map.Entry<String, byte[]> e : environment.entrySet()) text.put(e.getKey(), Native.text(e.getValue()));
        return text;
    }

    /** 1 for 1.0, 0.5 for 0.5; NaN and infinities as Java writes them. */
    static String seconds(double value) {
        if (Double.isNaN(value) || Double.isInfinite(value)) return String.valueOf(value);
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    private static String name(Strategy strategy) {
        return strategy == null ? "none" : strategy.name().toLowerCase(Locale.ROOT);
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static List<byte[]> copy(List<byte[]> words) {
        List<byte[]> copy = new ArrayList<byte[]>(words.size());
        for (byte[] word : words) copy.add(word.clone());
        return copy;
    }
}
