package org.jrestart;

import org.jrestart.core.Plan;
import org.jrestart.core.ProcessWide;
import org.jrestart.core.history.RestartLimit;
import org.jrestart.core.history.RestartRecord;
import org.jrestart.core.hooks.RestartHooks;
import org.jrestart.core.host.Detect;
import org.jrestart.core.host.Manager;
import org.jrestart.core.host.Notify;
import org.jrestart.core.launch.Child;
import org.jrestart.core.listen.Listener;
import org.jrestart.core.listen.Listeners;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Proc;
import org.jrestart.core.posix.Support;
import org.jrestart.core.posix.Warnings;

import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Restarts the JVM service this code runs in, for Java hosts (a Tomcat, Jetty
 * or Jenkins plugin): the same core, and the same decisions, as the JRuby
 * gem's JRestart module, with no JRuby needed. The class path needs
 * jrestart.jar, jnr-ffi and jnr-constants (see the README's "From Java").
 *
 * <pre>{@code
 * // the command from JRESTART_COMMAND or the detected service manager
 * Child child = JRestart.restart();
 * // or a command of your own, with a log and a delay
 * JRestart.restart(new LaunchOptions().log(Paths.get("/var/log/svc/restart.log")).delay(1, TimeUnit.SECONDS),
 *         "/etc/init.d/svc", "restart");
 * }</pre>
 *
 * Every failure is a {@link JRestartException}: its kind says whether a system
 * call failed (with its errno), the request was wrong, the platform is not
 * supported, or nothing could be done; command() names the command. A call
 * that throws has started nothing; a null argument is INVALID_ARGUMENT.
 *
 * <p>Test mode (setTestMode(true), or a Ruby suite's JRestart::Testing in the
 * same process) starts nothing: restart and launch check their arguments,
 * record the plan they would have run (testRequests()) and return null.
 */
public final class JRestart {
    private static final Object RESTART_LOCK = new Object();
    private static boolean restarted;
    private static Child restart;
    private static volatile List<byte[]> command;
    private static volatile RestartLimit limit;
    private static final List<Plan> REQUESTS = new ArrayList<Plan>();

    static {
        // As early as the host touches jrestart: the record's elapsed time ends here.
        if (Support.unavailable() == null) {
            Plan.claimRecord();
            // The inherited listeners are read once and marked close-on-exec before anything is started.
            try {
                Listeners.inherited();
            } catch (JRestartException e) {
                Warnings.warn("the listeners handed to this JVM cannot be read: " + e.getMessage());
            }
        }
    }

    private JRestart() {
    }

    /**
     * Restarts the service, at most once per process: the
     * command is the one set with setCommand, else JRESTART_COMMAND (split as
     * a shell would, with no shell), else the restart command of the service
     * manager that runs this JVM (systemd, supervisord, runit, daemontools,
     * s6). Later and concurrent calls through this class return the first
     * call's Child; a call that throws starts nothing and does not count.
     * While a restart asked for elsewhere in this JVM (a JRuby runtime, the
     * facade loaded by another class loader) is under way or has started,
     * it throws STATE naming who asked. Where the service
     * restarts in place (PID 1 of a container, a system unit without root),
     * this returns only by throwing, or null at once with a delay.
     */
    public static Child restart() throws JRestartException {
        return restart(new LaunchOptions());
    }

    /** Restarts the service with this command (and arguments), at most once per process; see restart(). */
    public static Child restart(String... command) throws JRestartException {
        return restart(new LaunchOptions(), command);
    }

    /** restart() with options; with no command, the command is chosen as restart() chooses it. */
    public static Child restart(LaunchOptions options, String... command) throws JRestartException {
        synchronized (RESTART_LOCK) {
            // An exec in place after its delay that failed or was vetoed gave the process's turn back.
            if (!restarted || restart == null && !ProcessWide.restartClaimed()) {
                Plan plan = plan(options, command);
                if (ProcessWide.testMode()) return recorded(plan);
                restart = plan.executeOnce();
                restarted = true;
            }
            return restart;
        }
    }

    /** Starts command detached from this JVM, as restart would start it, but every time it is called. */
    public static Child launch(String command, String... args) throws JRestartException {
        return launch(new LaunchOptions(), command, args);
    }

    public static Child launch(LaunchOptions options, String command, String... args) throws JRestartException {
        if (command == null) throw JRestartException.invalid("the command is null");
        if (options == null) throw JRestartException.invalid("options must not be null");
        if (args == null) throw JRestartException.invalid("args must not be null");
        List<byte[]> argv = new ArrayList<byte[]>();
        argv.add(bytes(command));
        for (String arg : args) {
            if (arg == null) throw JRestartException.invalid("an argument is null");
            argv.add(bytes(arg));
        }
        Plan plan = Plan.launch(argv, options.core(), environment());
        return ProcessWide.testMode() ? recorded(plan) : plan.execute();
    }

    /**
     * What restart (or launch) with these arguments would do, without doing
     * anything: Plan.describe() prints it as a table; execute() runs it.
     */
    public static Plan plan(String... command) throws JRestartException {
        return plan(new LaunchOptions(), command);
    }

    public static Plan plan(LaunchOptions options, String... command) throws JRestartException {
        if (options == null) throw JRestartException.invalid("options must not be null");
        if (command == null) throw JRestartException.invalid("command must not be null (none: the command restart chooses)");
        List<byte[]> argv = new ArrayList<byte[]>();
        for (String word : command) {
            if (word == null) throw JRestartException.invalid("the command contains null");
            argv.add(bytes(word));
        }
        return Plan.restart(argv, options.core(), environment(), JRestart.command, limit);
    }

    /**
     * Registers hook to run before every restart of this service, by any
     * mechanism, in registration order with every other hook of the process
     * (JRuby's JRestart.on_restart blocks included); see RestartHook. The
     * same hook registered twice runs twice.
     */
    public static RestartHook.Registration onRestart(RestartHook hook) throws JRestartException {
        if (hook == null) throw JRestartException.invalid("hook must not be null");
        Hook entry = new Hook(hook, caller());
        RestartHooks.add(entry);
        return new RestartHook.Registration(entry);
    }

    /** Every restart hook of the process (the Ruby blocks too), in the order they run. */
    public static List<RestartHook.Registration> restartHooks() {
        List<RestartHook.Registration> hooks = new ArrayList<RestartHook.Registration>();
        for (Object hook : RestartHooks.all()) hooks.add(new RestartHook.Registration(hook));
        return Collections.unmodifiableList(hooks);
    }

    /** The first frame outside jrestart and reflection: where a hook was registered. */
    private static String caller() {
        for (StackTraceElement frame : new Throwable().getStackTrace()) {
            String name = frame.getClassName();
            boolean passing = name.startsWith("org.jrestart.") || name.startsWith("java.lang.reflect.")
                    || name.startsWith("jdk.internal.reflect.") || name.startsWith("sun.reflect.");
            if (!passing) return frame.toString();
        }
        return "an unknown place";
    }

    /** A RestartHook as the process's list holds it (JDK types only: RestartHooks). */
    private static final class Hook implements Function<Map<String, Object>, String> {
        private final RestartHook hook;
        private final String location;

        Hook(RestartHook hook, String location) {
            this.hook = hook;
            this.location = location;
        }

        @Override
        public String apply(Map<String, Object> restart) {
            try {
                hook.beforeRestart(new Restart(restart));
                return null;
            } catch (Exception e) {
                return e.getClass().getName() + ": " + e.getMessage();
            }
        }

        @Override
        public String toString() {
            return location;
        }
    }

    /**
     * A listening channel on address with a listen queue of 1024: see listen(InetSocketAddress, int).
     */
    public static ServerSocketChannel listen(InetSocketAddress address) throws JRestartException {
        return listen(address, Listeners.DEFAULT_BACKLOG);
    }

    /**
     * A real ServerSocketChannel (a Selector takes it; Jetty's
     * ServerConnector.open(channel) too) listening on address: the listener
     * the JVM before this one handed over for that address in an exec in
     * place (or systemd's, by socket activation), else a new one, bound with
     * SO_REUSEADDR (a port in use: ERRNO EADDRINUSE). Its listen queue is set
     * to backlog. The next restart in place keeps it open and hands it on, so
     * no connection is refused meanwhile. Adopting needs java.base's
     * sun.nio.ch and java.io open to jrestart (--add-opens ...=ALL-UNNAMED)
     * for more than one listener per JVM: without them the JDK's
     * System.inheritedChannel() adopts one, once.
     */
    public static ServerSocketChannel listen(InetSocketAddress address, int backlog) throws JRestartException {
        if (address == null) throw JRestartException.invalid("address must not be null");
        if (address.isUnresolved()) {
            throw JRestartException.invalid("address " + address + " is unresolved");
        }
        return Listeners.listen(address.getAddress().getHostAddress(), address.getPort(), backlog);
    }

    /**
     * Every listener this JVM inherited (from the JVM before, or systemd) as a
     * channel, adopted now if listen did not adopt it yet; empty when none.
     */
    public static List<ServerSocketChannel> inheritedChannels() throws JRestartException {
        return Listeners.inheritedChannels();
    }

    /** What this JVM inherited: each listener's fd, address, systemd name and whether it was adopted. */
    public static List<Listener> inheritedListeners() throws JRestartException {
        return Listeners.inherited();
    }

    /**
     * At most count restarts of this service within seconds (the default is
     * 5 within 900): one more is refused with kind RESTART_LOOP. It wins over
     * JRESTART_LIMIT.
     */
    public static void setRestartLimit(int count, long seconds) throws JRestartException {
        limit = RestartLimit.of(count, seconds);
    }

    /** Turns the restart-loop guard off, whatever JRESTART_LIMIT says. */
    public static void disableRestartLimit() {
        limit = RestartLimit.OFF;
    }

    /** Back to JRESTART_LIMIT (COUNT/SECONDS or off), else 5 restarts within 900 s. */
    public static void defaultRestartLimit() {
        limit = null;
    }

    /** The restart-loop guard's limit in force. */
    public static RestartLimit restartLimit() throws JRestartException {
        return RestartLimit.effective(limit, environment());
    }

    /**
     * The record of the restart that started this JVM (who asked, why, when,
     * how, the command's exit status), or null when no restart did.
     */
    public static RestartRecord lastRestart() {
        return RestartRecord.last();
    }

    /**
     * The service is ready: in a JVM an overlap restart started, the old JVM
     * is told (it hands over, runs its restart hooks, stops and exits), and
     * this returns true. Elsewhere it sends READY=1 where NOTIFY_SOCKET is set
     * (a Type=notify unit's first start) and returns false; so does every call
     * after the first. Call it once the service accepts on its listeners.
     */
    public static boolean ready() throws JRestartException {
        return Plan.ready();
    }

    /**
     * sd_notify(3) to systemd: sends state (e.g. "READY=1") to $NOTIFY_SOCKET
     * from this process, as a Type=notify unit's main process must (the JDK
     * cannot send on a UNIX datagram socket). true when sent. Throws
     * (UNSUPPORTED) where the core cannot work, like every native operation.
     */
    public static boolean notify(String state) throws JRestartException {
        if (state == null) throw JRestartException.invalid("state must not be null");
        String socket = System.getenv("NOTIFY_SOCKET");
        return Notify.send(socket == null ? null : bytes(socket), state);
    }

    /**
     * Why jrestart cannot work on this platform (not Linux, an unknown CPU, a
     * libc lacking a function it needs); null where it can. Elsewhere every
     * operation but setCommand throws, of kind UNSUPPORTED.
     */
    public static String unavailable() {
        return Support.unavailable();
    }

    /** The service manager running this JVM, or null; see the README's "Service managers". */
    public static Manager detect() throws JRestartException {
        Map<String, String> env = System.getenv();
        return Detect.detect(Proc.selfPid(), env);
    }

    /**
     * Sets the restart command that restart() uses; it wins over
     * JRESTART_COMMAND and detection. None, or null, unsets it (as Ruby's
     * JRestart.command = nil); a null word is INVALID_ARGUMENT.
     */
    public static void setCommand(String... argv) throws JRestartException {
        if (argv == null) {
            command = null;
            return;
        }
        List<byte[]> words = new ArrayList<byte[]>();
        for (String word : argv) {
            if (word == null) throw JRestartException.invalid("the command contains null");
            words.add(bytes(word));
        }
        command = words.isEmpty() ? null : Collections.unmodifiableList(words);
    }

    /** The restart command set with setCommand, or an empty list. */
    public static List<String> command() {
        List<byte[]> words = command;
        List<String> argv = new ArrayList<String>();
        if (words != null) {
            for (byte[] word : words) argv.add(new String(word, charset()));
        }
        return Collections.unmodifiableList(argv);
    }

    /**
     * Test mode for the whole process: restart and launch start nothing, and
     * record the plan instead (testRequests); Plan.execute refuses. For a Java
     * host's own tests; a Ruby suite's JRestart::Testing turns on the same one.
     */
    public static void setTestMode(boolean on) {
        ProcessWide.testMode(on);
    }

    /** Whether test mode is on in this process. */
    public static boolean testMode() {
        return ProcessWide.testMode();
    }

    /** The plans restart and launch of this class recorded in test mode, oldest first. */
    public static List<Plan> testRequests() {
        synchronized (REQUESTS) {
            return Collections.unmodifiableList(new ArrayList<Plan>(REQUESTS));
        }
    }

    /** Forgets the plans recorded in test mode. */
    public static void clearTestRequests() {
        synchronized (REQUESTS) {
            REQUESTS.clear();
        }
    }

    private static Child recorded(Plan plan) {
        synchronized (REQUESTS) {
            REQUESTS.add(plan);
        }
        return null;
    }

    /** This JVM's environment, as bytes in the encoding the JVM decoded it from. */
    private static Map<String, byte[]> environment() {
        Map<String, byte[]> env = new LinkedHashMap<String, byte[]>();
        for (Map.Entry<String, String> e : System.getenv().entrySet()) env.put(e.getKey(), bytes(e.getValue()));
        return env;
    }

    static byte[] bytes(String text) {
        return text.getBytes(charset());
    }

    /** The charset the JVM uses for file names and the environment (sun.jnu.encoding), UTF-8 if unknown. */
    private static Charset charset() {
        String name = System.getProperty("sun.jnu.encoding");
        try {
            return name == null ? StandardCharsets.UTF_8 : Charset.forName(name);
        } catch (IllegalArgumentException unknown) {
            return StandardCharsets.UTF_8;
        }
    }
}
