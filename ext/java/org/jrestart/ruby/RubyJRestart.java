package org.jrestart.ruby;

import org.jrestart.core.Options;
import org.jrestart.core.Plan;
import org.jrestart.core.ProcessWide;
import org.jrestart.core.history.RestartLimit;
import org.jrestart.core.history.RestartRecord;
import org.jrestart.core.host.Manager;
import org.jrestart.core.host.Notify;
import org.jrestart.core.launch.Launcher;
import org.jrestart.core.launch.Reaping;
import org.jrestart.core.posix.Descriptor;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Support;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyBignum;
import org.jruby.RubyClass;
import org.jruby.RubyHash;
import org.jruby.RubyInteger;
import org.jruby.RubyModule;
import org.jruby.RubyNumeric;
import org.jruby.RubyString;
import org.jruby.RubySymbol;
import org.jruby.RubyTime;
import org.jruby.anno.JRubyMethod;
import org.jruby.anno.JRubyModule;
import org.jruby.runtime.Block;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.Visibility;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The JRestart module's functions. lib/jrestart/*.rb gives them their
 * keyword signatures and hands the options Hash over as it is.
 */
@JRubyModule(name = "JRestart")
public final class RubyJRestart {
    private RubyJRestart() {
    }

    static RubyModule createJRestartModule(Ruby runtime) {
        RubyModule jrestart = runtime.defineModule("JRestart");
        RubyClass standardError = runtime.getStandardError();
        RubyClass error = jrestart.defineClassUnder("Error", standardError, standardError.getAllocator());
        jrestart.defineClassUnder("RestartLoop", error, error.getAllocator());
        jrestart.defineClassUnder("Vetoed", error, error.getAllocator());
        jrestart.defineAnnotatedMethods(RubyJRestart.class);
        jrestart.setConstant("LAUNCH_OPTIONS", defaults(runtime));
        return jrestart;
    }

    /** launch's options with their defaults, from the core's own defaults. */
    private static IRubyObject defaults(Ruby runtime) {
        Options options = new Options();
        RubyHash hash = RubyHash.newHash(runtime);
        for (String name : Convert.LAUNCH_OPTIONS) {
            IRubyObject value;
            switch (name) {
                case "close": value = symbol(runtime, options.close()); break;
                case "keep": value = RubyArray.newEmptyArray(runtime).freeze(runtime.getCurrentContext()); break;
                case "chdir": value = string(runtime, options.chdir()).freeze(runtime.getCurrentContext()); break;
                case "delay": value = runtime.newFixnum((long) options.delay()); break;
                case "strategy": value = symbol(runtime, options.strategy()); break;
                case "unsetenv_others": value = runtime.newBoolean(options.unsetenvOthers()); break;
                default: value = runtime.getNil(); // log: and env: are absent by default
            }
            hash.fastASet(runtime.newSymbol(name), value);
        }
        return hash.freeze(runtime.getCurrentContext());
    }

    @JRubyMethod(name = "socket?", module = true)
    public static IRubyObject socket_p(ThreadContext context, IRubyObject self, IRubyObject fdOrIo) {
        // An IO on a Java stream has no descriptor a child could inherit: not a socket.
        int fd = Convert.osFd(context, fdOrIo);
        try {
            return context.runtime.newBoolean(Descriptors.isSocket(fd));
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    @JRubyMethod(name = "fstat", module = true)
    public static IRubyObject fstat(ThreadContext context, IRubyObject self, IRubyObject fdOrIo) {
        int fd = Convert.fd(context, fdOrIo);
        try {
            return RubyStat.newStat(context, Descriptors.fstat(fd));
        } catch (JRestartException e) {
            if (e.kind() == JRestartException.Kind.ERRNO) {
                throw context.runtime.newErrnoFromInt(e.errno(), "fstat(" + fdOrIo.inspect() + ")");
            }
            throw Convert.failure(context.runtime, e);
        }
    }

    /**
     * What this libc offers and which fallbacks are in use: {supported: true,
     * fstat:, stat_layout:, closefrom:, chdir:, close_range:, reaper:}; where
     * jrestart cannot work, {supported: false, unsupported: why}.
     */
    @JRubyMethod(name = "features", module = true)
    public static IRubyObject features(ThreadContext context, IRubyObject self) {
        Ruby runtime = context.runtime;
        RubyHash features = RubyHash.newHash(runtime);
        String unavailable = Support.unavailable();
        features.fastASet(runtime.newSymbol("supported"), runtime.newBoolean(unavailable == null));
        if (unavailable != null) {
            features.fastASet(runtime.newSymbol("unsupported"), runtime.newString(unavailable));
            return features;
        }
        String fstat = Descriptors.fstatSymbol();
        String layout = Descriptors.statLayout();
        features.fastASet(runtime.newSymbol("fstat"), fstat == null ? context.nil : runtime.newSymbol(fstat));
        features.fastASet(runtime.newSymbol("stat_layout"), layout == null ? context.nil : runtime.newString(layout));
        features.fastASet(runtime.newSymbol("closefrom"), runtime.newBoolean(Launcher.hasCloseFrom()));
        features.fastASet(runtime.newSymbol("chdir"), runtime.newBoolean(Launcher.hasChdir()));
        features.fastASet(runtime.newSymbol("close_range"), runtime.newBoolean(Launcher.hasCloseRange()));
        features.fastASet(runtime.newSymbol("reaper"), runtime.newSymbol(Reaping.polling() ? "pidfd" : "thread"));
        return features;
    }

    /** Whether jrestart works on this platform; features[:unsupported] says why not. */
    @JRubyMethod(name = "supported?", module = true)
    public static IRubyObject supported_p(ThreadContext context, IRubyObject self) {
        return context.runtime.newBoolean(Support.unavailable() == null);
    }

    @JRubyMethod(name = "open_fds", module = true)
    public static IRubyObject open_fds(ThreadContext context, IRubyObject self) {
        List<Descriptor> fds;
        try {
            fds = Descriptors.list();
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
        RubyArray<?> result = RubyArray.newArray(context.runtime, fds.size());
        for (Descriptor fd : fds) result.append(RubyDescriptor.newDescriptor(context, fd));
        return result;
    }

    /**
     * The JRestart::Plan of restart! (and JRestart.plan) for argv (the command
     * and its arguments; empty: the restart command restart! chooses) and the
     * options Hash.
     */
    @JRubyMethod(name = "__plan", module = true, visibility = Visibility.PRIVATE)
    public static IRubyObject plan(ThreadContext context, IRubyObject self, IRubyObject argv, IRubyObject options) {
        RubyArray<?> words = array(context, argv, "the command and its arguments");
        if (!words.isEmpty() && words.eltOk(0).isNil()) throw context.runtime.newArgumentError("the command is nil");
        List<RubyString> command = strings(context, words, "the command", "argument ", "");
        Options parsed = Convert.options(context, options, Convert.RESTART_OPTIONS);
        try {
            Plan plan = Plan.restart(bytes(command), parsed, Convert.environment(context), setting(context, self),
                    limitSetting(context, self));
            return RubyPlan.newPlan(context, plan, given(context, self, plan, command));
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    /** The JRestart::Plan of launch(command, *args, **options), argv being [command, *args]. */
    @JRubyMethod(name = "__launch", module = true, visibility = Visibility.PRIVATE)
    public static IRubyObject launch(ThreadContext context, IRubyObject self, IRubyObject argv, IRubyObject options) {
        List<RubyString> command = strings(context, array(context, argv, "the command and its arguments"),
                "the command", "argument ", "");
        Options parsed = Convert.options(context, options, Convert.LAUNCH_OPTIONS);
        try {
            return RubyPlan.newPlan(context, Plan.launch(bytes(command), parsed, Convert.environment(context)), command);
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    /**
     * The JRestart::Plan of reexec!(argv, env:, keep:, unsetenv_others:);
     * argv nil: this process's own command line. reexec! executes it.
     */
    @JRubyMethod(name = "__reexec", module = true, visibility = Visibility.PRIVATE)
    public static IRubyObject reexec(ThreadContext context, IRubyObject self, IRubyObject argv, IRubyObject options) {
        List<RubyString> words = reexecArgv(context, argv);
        Options parsed = Convert.options(context, options, Convert.REEXEC_OPTIONS);
        try {
            return RubyPlan.newPlan(context, Plan.reexec(words == null ? null : bytes(words), parsed,
                    Convert.environment(context), limitSetting(context, self)), words);
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    private static List<RubyString> reexecArgv(ThreadContext context, IRubyObject argv) {
        if (argv.isNil()) return null;
        if (!(argv instanceof RubyArray)) {
            throw context.runtime.newTypeError("argv must be an Array of Strings, got "
                    + argv.getMetaClass().getRealClass().getName());
        }
        return strings(context, (RubyArray<?>) argv, "argv[0]", "argv[", "]");
    }

    /**
     * What restart! (kind :restart), launch (:launch) or reexec! (:reexec)
     * would do, for test mode: [command, plan, unplanned]. The request is
     * checked as the real call checks it and raises the same errors for bad
     * input. plan is nil where none can be built: on a platform jrestart does
     * not support, or for a restart! to which this environment offers no
     * command (tests rarely run under a service manager); command is then
     * what is known without libc or /proc (nil when only detection could
     * tell), and unplanned says why.
     */
    @JRubyMethod(name = "__request", module = true, visibility = Visibility.PRIVATE)
    public static IRubyObject request(ThreadContext context, IRubyObject self, IRubyObject kind, IRubyObject argv,
                                      IRubyObject options) {
        String name = kind.asJavaString();
        boolean supported = Support.unavailable() == null;
        if (name.equals("restart")) return restartRequest(context, self, argv, options, supported);
        if (supported) {
            RubyPlan plan = (RubyPlan) (name.equals("launch") ? launch(context, self, argv, options)
                    : reexec(context, self, argv, options));
            return requested(context, plan.command(context), plan, null);
        }
        if (name.equals("launch")) {
            List<RubyString> given = strings(context, array(context, argv, "the command and its arguments"),
                    "the command", "argument ", "");
            Convert.options(context, options, Convert.LAUNCH_OPTIONS);
            if (given.isEmpty()) throw context.runtime.newArgumentError("the command is missing");
            return requested(context, frozen(context, given), null, Support.refusal("launch"));
        }
        List<RubyString> given = reexecArgv(context, argv);
        Convert.options(context, options, Convert.REEXEC_OPTIONS);
        if (given != null && given.isEmpty()) throw context.runtime.newArgumentError("argv must not be empty");
        return requested(context, given == null ? context.nil : frozen(context, given), null,
                Support.refusal(given == null ? "reading this process's own command line" : "reexec"));
    }

    private static IRubyObject restartRequest(ThreadContext context, IRubyObject self, IRubyObject argv,
                                              IRubyObject options, boolean supported) {
        RubyArray<?> words = array(context, argv, "the command and its arguments");
        if (!words.isEmpty() && words.eltOk(0).isNil()) throw context.runtime.newArgumentError("the command is nil");
        List<RubyString> given = strings(context, words, "the command", "argument ", "");
        Options parsed = Convert.options(context, options, Convert.RESTART_OPTIONS);
        Map<String, byte[]> environment = Convert.environment(context);
        try {
            String unplanned;
            if (supported) {
                try {
                    Plan plan = Plan.restart(bytes(given), parsed, environment, setting(context, self),
                            limitSetting(context, self));
                    RubyPlan ruby = RubyPlan.newPlan(context, plan, given(context, self, plan, given));
                    return requested(context, ruby.command(context), ruby, null);
                } catch (JRestartException e) {
                    if (e.kind() != JRestartException.Kind.STATE) throw e;
                    unplanned = e.subject();
                }
            } else {
                Plan.checkReason(parsed.reason());
                RestartLimit.effective(limitSetting(context, self), environment);
                unplanned = Support.refusal("restart");
            }
            if (!given.isEmpty()) return requested(context, frozen(context, given), null, unplanned);
            Plan.Choice choice = Plan.configured(setting(context, self), environment);
            if (choice != null) {
                IRubyObject command = choice.source == Plan.Source.SETTING ? settingArray(self)
                        : words(context, choice.command);
                return requested(context, command, null, unplanned);
            }
            if (!supported) {
                unplanned = "restart has no command: none was given, JRestart.command and JRESTART_COMMAND are not"
                        + " set, and " + Support.refusal("service manager detection");
            }
            return requested(context, context.nil, null, unplanned);
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    private static IRubyObject requested(ThreadContext context, IRubyObject command, RubyPlan plan, String unplanned) {
        Ruby runtime = context.runtime;
        return RubyArray.newArray(runtime, command, plan == null ? context.nil : plan,
                unplanned == null ? context.nil : runtime.newString(unplanned));
    }

    private static IRubyObject frozen(ThreadContext context, List<RubyString> words) {
        RubyArray<?> array = RubyArray.newArray(context.runtime, words.size());
        for (RubyString word : words) array.append(word);
        return array.freeze(context);
    }

    private static IRubyObject words(ThreadContext context, List<byte[]> words) {
        RubyArray<?> array = RubyArray.newArray(context.runtime, words.size());
        for (byte[] word : words) array.append(string(context.runtime, word).freeze(context));
        return array.freeze(context);
    }

    /**
     * What restart! with no command would run, as a JRestart::Choice
     * (command, source, manager), or nil.
     */
    @JRubyMethod(name = "restart_command", module = true)
    public static IRubyObject restart_command(ThreadContext context, IRubyObject self) {
        Plan.Choice choice;
        try {
            choice = Plan.choose(setting(context, self), Convert.environment(context));
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
        if (choice == null) return context.nil;
        RubyArray<?> command = RubyArray.newArray(context.runtime, choice.command.size());
        for (byte[] word : choice.command) command.append(string(context.runtime, word));
        return struct(context, "Choice", command, symbol(context.runtime, choice.source),
                manager(context, choice.manager));
    }

    /**
     * sd_notify(3) to systemd: sends state (e.g. "READY=1") to ENV["NOTIFY_SOCKET"]
     * from this process, as a Type=notify unit's main process must. true when
     * sent; false when there is no NOTIFY_SOCKET or it could not be sent.
     */
    @JRubyMethod(name = "notify", module = true)
    public static IRubyObject notify(ThreadContext context, IRubyObject self, IRubyObject state) {
        RubyString text = Convert.frozenString(context, state, "the state");
        byte[] socket = Convert.environment(context).get("NOTIFY_SOCKET");
        try {
            return context.runtime.newBoolean(Notify.send(socket, text.asJavaString()));
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    /** The JRestart::Manager running this process, or nil; see JRestart::Detect. */
    @JRubyMethod(name = "detect", module = true)
    public static IRubyObject detect(ThreadContext context, IRubyObject self) {
        return RubyDetect.call(context, self);
    }

    /**
     * The restart-loop guard's limit in force: [count, seconds], or nil when
     * it is off. JRestart.restart_limit= wins over JRESTART_LIMIT, which wins
     * over the default, [5, 900].
     */
    @JRubyMethod(name = "restart_limit", module = true)
    public static IRubyObject restart_limit(ThreadContext context, IRubyObject self) {
        RestartLimit limit;
        try {
            limit = RestartLimit.effective(limitSetting(context, self), Convert.environment(context));
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
        return limit(context, limit);
    }

    /** A limit as Ruby shows it: [count, seconds], or nil for off. */
    static IRubyObject limit(ThreadContext context, RestartLimit limit) {
        if (limit.off()) return context.nil;
        double seconds = limit.seconds();
        IRubyObject window = seconds == Math.rint(seconds) ? context.runtime.newFixnum((long) seconds)
                : context.runtime.newFloat(seconds);
        return RubyArray.newArray(context.runtime, context.runtime.newFixnum(limit.count()), window).freeze(context);
    }

    /**
     * Sets the guard's limit: [count, seconds], nil to turn the guard off, or
     * :default to go back to JRESTART_LIMIT, else [5, 900].
     */
    @JRubyMethod(name = "restart_limit=", module = true)
    public static IRubyObject set_restart_limit(ThreadContext context, IRubyObject self, IRubyObject value) {
        RubyModule jrestart = (RubyModule) self;
        if (value instanceof RubySymbol && value.asJavaString().equals("default")) {
            jrestart.removeInstanceVariable(LIMIT_VARIABLE);
            return value;
        }
        if (!value.isNil()) {
            if (!(value instanceof RubyArray) || ((RubyArray<?>) value).size() != 2) {
                throw context.runtime.newTypeError("JRestart.restart_limit must be [count, seconds], nil (off) or"
                        + " :default, got " + value.inspect());
            }
            RubyArray<?> pair = (RubyArray<?>) value;
            if (!(pair.eltOk(0) instanceof RubyInteger)) {
                throw context.runtime.newTypeError("JRestart.restart_limit's count must be an Integer, got "
                        + pair.eltOk(0).getMetaClass().getRealClass().getName());
            }
            // A count beyond a long is as out of range as one beyond an int: the same ArgumentError, not RangeError.
            if (pair.eltOk(0) instanceof RubyBignum) {
                throw context.runtime.newArgumentError("the restart limit's count must be an Integer from 1 to "
                        + Integer.MAX_VALUE + ", got " + pair.eltOk(0).inspect());
            }
            try {
                RestartLimit.of(RubyNumeric.num2long(pair.eltOk(0)),
                        Convert.seconds(context, pair.eltOk(1), "JRestart.restart_limit's window"));
            } catch (JRestartException e) {
                throw Convert.failure(context.runtime, e);
            }
            value = pair.aryDup().freeze(context);
        }
        jrestart.setInstanceVariable(LIMIT_VARIABLE, value);
        return value;
    }

    /**
     * The directory the restart-loop guard and the restart record use (created
     * when missing), found from the JVM's own environment, not from ENV: ENV
     * changes do not move it. With a Hash: where a service started with that
     * environment would keep it.
     */
    @JRubyMethod(name = "state_directory", module = true, optional = 1)
    public static IRubyObject state_directory(ThreadContext context, IRubyObject self, IRubyObject[] args) {
        Map<String, byte[]> environment = null;
        if (args.length == 1) {
            if (!(args[0] instanceof RubyHash)) {
                throw context.runtime.newTypeError("state_directory's environment must be a Hash, got "
                        + args[0].getMetaClass().getRealClass().getName());
            }
            environment = Convert.environment(context, (RubyHash) args[0]);
        }
        try {
            return context.runtime.newString(RestartRecord.stateDirectory(environment));
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    /** Test mode for the whole process (every runtime, the Java facade): JRestart::Testing turns it on and off. */
    @JRubyMethod(name = "__test_mode", module = true, visibility = Visibility.PRIVATE)
    public static IRubyObject test_mode(ThreadContext context, IRubyObject self, IRubyObject on) {
        ProcessWide.testMode(on.isTrue());
        return on;
    }

    /** Whether a restart holds the process's turn (ProcessWide.restartClaimed): restart! asks after a delayed exec. */
    @JRubyMethod(name = "__restart_claimed", module = true, visibility = Visibility.PRIVATE)
    public static IRubyObject restart_claimed(ThreadContext context, IRubyObject self) {
        return context.runtime.newBoolean(ProcessWide.restartClaimed());
    }

    /** The JRestart::Record of the restart that started this JVM, or nil. */
    @JRubyMethod(name = "last_restart", module = true)
    public static IRubyObject last_restart(ThreadContext context, IRubyObject self) {
        RestartRecord record = RestartRecord.last();
        if (record == null) return context.nil;
        Ruby runtime = context.runtime;
        RubyArray<?> command = RubyArray.newArray(runtime, record.command().size());
        for (String word : record.command()) command.append(runtime.newString(word).freeze(context));
        Integer status = record.commandStatus();
        List<String> stillRunning = record.stillRunning();
        RubyArray<?> running = RubyArray.newArray(runtime, stillRunning.size());
        for (String name : stillRunning) running.append(runtime.newString(name).freeze(context));
        Double overlap = record.overlap();
        return struct(context, "Record", runtime.newFixnum(record.previousPid()),
                record.reason() == null ? context.nil : runtime.newString(record.reason()).freeze(context),
                RubyTime.newTime(runtime, record.requestedAt()),
                symbol(runtime, record.mechanism()), command.freeze(context),
                status == null ? context.nil : runtime.newFixnum(status), runtime.newFloat(record.elapsed()),
                running.freeze(context), overlap == null ? context.nil : runtime.newFloat(overlap));
    }

    /**
     * The service is ready (Plan.ready): in a JVM an overlap restart
     * started, the old JVM hands over and stops, and this returns true;
     * elsewhere it sends READY=1 where NOTIFY_SOCKET is set and returns
     * false, as every call after the first does.
     */
    @JRubyMethod(name = "ready!", module = true)
    public static IRubyObject ready(ThreadContext context, IRubyObject self) {
        try {
            return context.runtime.newBoolean(Plan.ready());
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    private static final String LIMIT_VARIABLE = "@restart_limit";

    /** JRestart.restart_limit= as the core takes it: null when not set (JRESTART_LIMIT or the default apply). */
    private static RestartLimit limitSetting(ThreadContext context, IRubyObject jrestart) {
        RubyModule module = (RubyModule) jrestart;
        if (!module.hasInstanceVariable(LIMIT_VARIABLE)) return null;
        IRubyObject value = module.getInstanceVariable(LIMIT_VARIABLE);
        if (value.isNil()) return RestartLimit.OFF;
        RubyArray<?> pair = (RubyArray<?>) value;
        try {
            return RestartLimit.of(RubyNumeric.num2long(pair.eltOk(0)), RubyNumeric.num2dbl(pair.eltOk(1)));
        } catch (JRestartException e) {
            throw new AssertionError("checked when it was set", e);
        }
    }

    /**
     * The Strings a plan's command is shown as: the ones given, else those of
     * JRestart.command when the plan took it (in the encoding they were set
     * in, not as bytes), else null: the plan's own bytes.
     */
    private static List<RubyString> given(ThreadContext context, IRubyObject self, Plan plan, List<RubyString> given) {
        if (!given.isEmpty()) return given;
        if (plan.source() != Plan.Source.SETTING) return null;
        return strings(context, (RubyArray<?>) settingArray(self), "JRestart.command[0]", "JRestart.command[", "]");
    }

    /** JRestart.command as set: a frozen Array of frozen Strings (lib/jrestart/command.rb). */
    private static IRubyObject settingArray(IRubyObject jrestart) {
        return ((RubyModule) jrestart).getInstanceVariable("@command");
    }

    /** JRestart.command, the configured restart command, as the core takes it; null when unset. */
    private static List<byte[]> setting(ThreadContext context, IRubyObject jrestart) {
        IRubyObject value = ((RubyModule) jrestart).getInstanceVariable("@command");
        if (value == null || value.isNil()) return null;
        return bytes(strings(context, array(context, value, "JRestart.command"), "JRestart.command[0]",
                "JRestart.command[", "]"));
    }

    static RubyArray<?> array(ThreadContext context, IRubyObject value, String what) {
        if (!(value instanceof RubyArray)) {
            throw context.runtime.newTypeError(what + " must be an Array, got "
                    + value.getMetaClass().getRealClass().getName());
        }
        return (RubyArray<?>) value;
    }

    /**
     * Frozen copies of the Strings of words, converted once, here, and never
     * again; an error names words[0] first and words[i] prefix + i + suffix.
     */
    private static List<RubyString> strings(ThreadContext context, RubyArray<?> words, String first, String prefix,
                                            String suffix) {
        List<RubyString> strings = new ArrayList<RubyString>(words.size());
        for (int i = 0; i < words.size(); i++) {
            strings.add(Convert.frozenString(context, words.eltOk(i), i == 0 ? first : prefix + i + suffix));
        }
        return strings;
    }

    private static List<byte[]> bytes(List<RubyString> strings) {
        List<byte[]> bytes = new ArrayList<byte[]>(strings.size());
        for (RubyString s : strings) bytes.add(s.getByteList().bytes());
        return bytes;
    }

    static RubyString string(Ruby runtime, byte[] bytes) {
        return runtime.newString(new ByteList(bytes, true));
    }

    static IRubyObject symbol(Ruby runtime, Enum<?> constant) {
        return runtime.newSymbol(constant.name().toLowerCase(Locale.ROOT));
    }

    /** A new instance of the Struct JRestart::name (defined in lib/jrestart/*.rb). */
    static IRubyObject struct(ThreadContext context, String name, IRubyObject... values) {
        RubyClass type = (RubyClass) context.runtime.getModule("JRestart").getConstant(name);
        return type.newInstance(context, values, Block.NULL_BLOCK);
    }

    /** A JRestart::Manager Struct, or nil. */
    static IRubyObject manager(ThreadContext context, Manager manager) {
        if (manager == null) return context.nil;
        Ruby runtime = context.runtime;
        return struct(context, "Manager", runtime.newSymbol(manager.name), runtime.newString(manager.service),
                strings(runtime, manager.command), strings(runtime, manager.evidence));
    }

    private static RubyArray<?> strings(Ruby runtime, List<String> texts) {
        RubyArray<?> array = RubyArray.newArray(runtime, texts.size());
        for (String text : texts) array.append(runtime.newString(text));
        return array;
    }
}
