package org.jrestart.ruby;

import org.jrestart.core.Plan;
import org.jrestart.core.launch.Child;
import org.jrestart.core.launch.Strategy;
import org.jrestart.core.launch.Wakeup;
import org.jrestart.core.posix.JRestartException;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyClass;
import org.jruby.RubyHash;
import org.jruby.RubyModule;
import org.jruby.RubyObject;
import org.jruby.RubyString;
import org.jruby.RubyThread;
import org.jruby.anno.JRubyClass;
import org.jruby.anno.JRubyMethod;
import org.jruby.runtime.Block;
import org.jruby.runtime.ObjectAllocator;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.Visibility;
import org.jruby.runtime.builtin.IRubyObject;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * JRestart::Plan: the core's Plan, which launch and restart! execute and
 * plan shows. lib/jrestart/plan.rb adds Plan::Entry.
 */
@JRubyClass(name = "JRestart::Plan")
public final class RubyPlan extends RubyObject {
    private static final long serialVersionUID = 1L;

    private transient Plan plan;
    private RubyArray<?> command;
    /** command without its first word: what JRestart::Launch#args gives. */
    private IRubyObject args;
    private IRubyObject descriptors;

    private RubyPlan(Ruby runtime, RubyClass type) {
        super(runtime, type);
    }

    static RubyClass createPlanClass(Ruby runtime, RubyModule jrestart) {
        RubyClass type = jrestart.defineClassUnder("Plan", runtime.getObject(), ObjectAllocator.NOT_ALLOCATABLE_ALLOCATOR);
        type.defineAnnotatedMethods(RubyPlan.class);
        return type;
    }

    /** given: the frozen Strings the command was given as; null when the plan chose it. */
    static RubyPlan newPlan(ThreadContext context, Plan plan, List<RubyString> given) {
        Ruby runtime = context.runtime;
        RubyPlan result = new RubyPlan(runtime, (RubyClass) runtime.getModule("JRestart").getConstantAt("Plan"));
        result.plan = plan;
        RubyArray<?> command = RubyArray.newArray(runtime);
        if (given != null) {
            for (RubyString word : given) command.append(word);
        } else {
            for (byte[] word : plan.command()) command.append(RubyJRestart.string(runtime, word).freeze(context));
        }
        result.command = (RubyArray<?>) command.freeze(context);
        RubyArray<?> args = RubyArray.newArray(runtime, command.size() - 1);
        for (int i = 1; i < command.size(); i++) args.append(command.eltOk(i));
        result.args = args.freeze(context);
        return result;
    }

    /** The command and its arguments, as given or chosen. */
    @JRubyMethod
    public IRubyObject command(ThreadContext context) {
        return command;
    }

    /** The file that will run: the command, looked up in the new program's PATH when it is a bare name. */
    @JRubyMethod
    public IRubyObject path(ThreadContext context) {
        return RubyJRestart.string(context.runtime, plan.path());
    }

    /** :argument, :setting (JRestart.command), :environment (JRESTART_COMMAND) or :detected. */
    @JRubyMethod
    public IRubyObject source(ThreadContext context) {
        return RubyJRestart.symbol(context.runtime, plan.source());
    }

    /** The detected JRestart::Manager, when source is :detected; else nil. */
    @JRubyMethod
    public IRubyObject manager(ThreadContext context) {
        return RubyJRestart.manager(context, plan.manager());
    }

    /** Why the restart was asked for (restart!'s reason:), or nil. */
    @JRubyMethod
    public IRubyObject reason(ThreadContext context) {
        String reason = plan.reason();
        return reason == null ? context.nil : context.runtime.newString(reason).freeze(context);
    }

    /**
     * The restart-loop guard's limit this restart is counted against, as
     * [count, seconds]; nil when the guard is off or this is a launch.
     */
    @JRubyMethod
    public IRubyObject restart_limit(ThreadContext context) {
        return RubyJRestart.limit(context, plan.limit());
    }

    /**
     * Seconds the orderly stop may take before the exec in place (or, after
     * a restart command, on the manager's SIGTERM): stop_timeout:, else the
     * unit's TimeoutStopUSec under systemd, else 90; Float::INFINITY for a
     * unit without one. nil for a launch, which stops nothing.
     */
    @JRubyMethod
    public IRubyObject stop_timeout(ThreadContext context) {
        Double seconds = plan.stopTimeout();
        return seconds == null ? context.nil : context.runtime.newFloat(seconds);
    }

    /**
     * An overlap restart: which manager will track the new JVM, and why
     * (a Type=notify unit, a pid file, none); nil for any other plan.
     */
    @JRubyMethod
    public IRubyObject overlap(ThreadContext context) {
        return plan.overlap() == null ? context.nil : context.runtime.newString(plan.overlap()).freeze(context);
    }

    /** Seconds the new JVM of an overlap restart has to call JRestart.ready!; nil for any other plan. */
    @JRubyMethod
    public IRubyObject ready_timeout(ThreadContext context) {
        return plan.overlap() == null ? context.nil : context.runtime.newFloat(plan.readyTimeout());
    }

    /** The pid file an overlap restart rewrites with the new JVM's pid; nil when none. */
    @JRubyMethod
    public IRubyObject pidfile(ThreadContext context) {
        return plan.pidFile() == null ? context.nil : context.runtime.newString(plan.pidFile()).freeze(context);
    }

    @JRubyMethod
    public IRubyObject strategy(ThreadContext context) {
        return RubyJRestart.symbol(context.runtime, plan.strategy());
    }

    /** Every option with its value in this plan (keep: as sorted fds). */
    @JRubyMethod
    public IRubyObject options(ThreadContext context) {
        Ruby runtime = context.runtime;
        RubyHash options = RubyHash.newHash(runtime);
        options.fastASet(runtime.newSymbol("close"), RubyJRestart.symbol(runtime, plan.close()));
        RubyArray<?> keep = RubyArray.newArray(runtime);
        for (int fd : plan.keep()) keep.append(runtime.newFixnum(fd));
        options.fastASet(runtime.newSymbol("keep"), keep.freeze(context));
        options.fastASet(runtime.newSymbol("chdir"), cwd(context));
        options.fastASet(runtime.newSymbol("log"), log(context));
        options.fastASet(runtime.newSymbol("env"), env(context));
        options.fastASet(runtime.newSymbol("delay"), delay(context));
        options.fastASet(runtime.newSymbol("strategy"), strategy(context));
        options.fastASet(runtime.newSymbol("unsetenv_others"), runtime.newBoolean(plan.unsetenvOthers()));
        return options.freeze(context);
    }

    /** Every open descriptor of this process as a Plan::Entry, listed when first asked for. */
    @JRubyMethod
    public IRubyObject descriptors(ThreadContext context) {
        if (descriptors != null) return descriptors;
        List<Plan.Entry> entries;
        try {
            entries = plan.descriptors();
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
        RubyClass entry = (RubyClass) getMetaClass().getConstantAt("Entry");
        RubyArray<?> list = RubyArray.newArray(context.runtime, entries.size());
        for (Plan.Entry e : entries) {
            list.append(entry.newInstance(context, RubyDescriptor.newDescriptor(context, e.descriptor),
                    RubyJRestart.symbol(context.runtime, e.fate), Block.NULL_BLOCK));
        }
        descriptors = list.freeze(context);
        return descriptors;
    }

    @JRubyMethod
    public IRubyObject inherited(ThreadContext context) {
        return withFate(context, Plan.Fate.INHERITED);
    }

    @JRubyMethod
    public IRubyObject withheld(ThreadContext context) {
        return withFate(context, Plan.Fate.WITHHELD);
    }

    private IRubyObject withFate(ThreadContext context, Plan.Fate fate) {
        RubyArray<?> result = RubyArray.newArray(context.runtime);
        try {
            for (Plan.Entry e : plan.descriptors()) {
                if (e.fate == fate) result.append(RubyDescriptor.newDescriptor(context, e.descriptor));
            }
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
        return result;
    }

    /** Where stdout and stderr go: "/dev/null" or "LOG (appended)". */
    @JRubyMethod
    public IRubyObject stdout(ThreadContext context) {
        return context.runtime.newString(plan.stdout());
    }

    /**
     * Starts the planned command: this very plan, nothing converted again. A
     * restart in place returns only by raising, or nil at once with a delay.
     */
    @JRubyMethod
    public IRubyObject execute(ThreadContext context) {
        return execute(context, false);
    }

    /** execute as restart! does it: the process's one restart (Plan.executeOnce). */
    @JRubyMethod(name = "__execute_once", visibility = Visibility.PRIVATE)
    public IRubyObject execute_once(ThreadContext context) {
        return execute(context, true);
    }

    private IRubyObject execute(ThreadContext context, boolean once) {
        // Test mode promises that nothing starts, whichever way a plugin gets at a plan.
        IRubyObject testing = context.runtime.getModule("JRestart").getInstanceVariable("@testing");
        if (testing != null && testing.isTrue()) {
            throw Convert.error(context.runtime, "JRestart::Plan#execute refused: test mode (JRestart::Testing) is"
                    + " on, nothing is started; restart!, launch and reexec! record their request instead");
        }
        Child child;
        try {
            if (plan.strategy() == Strategy.OVERLAP) {
                try (Wakeup wakeup = new Wakeup()) {
                    // Thread#raise, Thread#kill and Ctrl-C end the wait for the new JVM: it is stopped.
                    Object done = context.getThread().executeTask(context, wakeup, new Overlapped(plan, once));
                    if (done instanceof JRestartException) throw (JRestartException) done;
                    child = (Child) done;
                }
            } else {
                child = once ? plan.executeOnce() : plan.execute();
            }
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        } catch (InterruptedException e) {
            // Overlapped.run never throws it; whatever interrupted the thread is raised here, if anything.
            context.pollThreadEvents();
            throw Convert.error(context.runtime, "the overlap restart was interrupted; this JVM goes on serving");
        }
        if (child == null) return context.nil;
        return RubyLaunch.newLaunch(context, child, command.eltOk(0), args);
    }

    /** An overlap restart as a blocking task of the Ruby thread: the result is the Child or the failure. */
    private static final class Overlapped implements RubyThread.Task<Wakeup, Object> {
        private final Plan plan;
        private final boolean once;

        Overlapped(Plan plan, boolean once) {
            this.plan = plan;
            this.once = once;
        }

        @Override
        public Object run(ThreadContext context, Wakeup wakeup) {
            try {
                return once ? plan.executeOnce(wakeup) : plan.execute(wakeup);
            } catch (JRestartException e) {
                return e;
            }
        }

        @Override
        public void wakeup(RubyThread thread, Wakeup wakeup) {
            wakeup.wake();
        }
    }

    @JRubyMethod
    public IRubyObject to_h(ThreadContext context) {
        Ruby runtime = context.runtime;
        RubyHash hash = RubyHash.newHash(runtime);
        hash.fastASet(runtime.newSymbol("command"), command);
        hash.fastASet(runtime.newSymbol("path"), path(context));
        hash.fastASet(runtime.newSymbol("source"), source(context));
        IRubyObject manager = manager(context);
        hash.fastASet(runtime.newSymbol("manager"), manager.isNil() ? manager : manager.callMethod(context, "to_h"));
        hash.fastASet(runtime.newSymbol("strategy"), strategy(context));
        boolean inPlace = plan.strategy() == Strategy.EXEC;
        boolean beside = plan.strategy() == Strategy.OVERLAP;
        hash.fastASet(runtime.newSymbol("session"), runtime.newSymbol(inPlace || beside ? "same" : "new"));
        hash.fastASet(runtime.newSymbol("cwd"), cwd(context));
        hash.fastASet(runtime.newSymbol("stdin"), runtime.newString(inPlace ? "unchanged" : beside
                ? plan.inheritedChannel() != null ? "the inherited channel" : "this JVM's" : "/dev/null"));
        hash.fastASet(runtime.newSymbol("overlap"), overlap(context));
        hash.fastASet(runtime.newSymbol("ready_timeout"), ready_timeout(context));
        hash.fastASet(runtime.newSymbol("pidfile"), pidfile(context));
        hash.fastASet(runtime.newSymbol("in_place"), plan.inPlace() == null ? context.nil
                : runtime.newString(plan.inPlace()));
        hash.fastASet(runtime.newSymbol("stdout"), stdout(context));
        hash.fastASet(runtime.newSymbol("stderr"), stdout(context));
        hash.fastASet(runtime.newSymbol("signals"), runtime.newSymbol("default"));
        hash.fastASet(runtime.newSymbol("delay"), delay(context));
        hash.fastASet(runtime.newSymbol("close"), RubyJRestart.symbol(runtime, plan.close()));
        hash.fastASet(runtime.newSymbol("env"), env(context));
        hash.fastASet(runtime.newSymbol("unsetenv_others"), runtime.newBoolean(plan.unsetenvOthers()));
        hash.fastASet(runtime.newSymbol("reason"), reason(context));
        hash.fastASet(runtime.newSymbol("restart_limit"), restart_limit(context));
        hash.fastASet(runtime.newSymbol("stop_timeout"), stop_timeout(context));
        RubyArray<?> fds = (RubyArray<?>) descriptors(context);
        RubyArray<?> rows = RubyArray.newArray(runtime, fds.size());
        for (int i = 0; i < fds.size(); i++) rows.append(fds.eltOk(i).callMethod(context, "to_h"));
        hash.fastASet(runtime.newSymbol("descriptors"), rows);
        return hash;
    }

    /** The plan as a table, for irb and logs. */
    @JRubyMethod
    public IRubyObject to_s(ThreadContext context) {
        try {
            return context.runtime.newString(plan.describe());
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    @JRubyMethod
    public IRubyObject inspect(ThreadContext context) {
        return context.runtime.newString("#<JRestart::Plan " + command.inspect() + " path="
                + path(context).inspect() + " strategy=" + strategy(context).inspect() + ">");
    }

    /** The new program's cwd; nil in place, where it stays what it is. */
    private IRubyObject cwd(ThreadContext context) {
        byte[] chdir = plan.chdir();
        return chdir == null ? context.nil : RubyJRestart.string(context.runtime, chdir).freeze(context);
    }

    private IRubyObject log(ThreadContext context) {
        byte[] log = plan.log();
        return log == null ? context.nil : RubyJRestart.string(context.runtime, log).freeze(context);
    }

    /** The delay as an Integer when it is whole (delay: 2 shows 2), else a Float. */
    private IRubyObject delay(ThreadContext context) {
        BigDecimal seconds = BigDecimal.valueOf(plan.delay());
        if (seconds.signum() == 0 || seconds.stripTrailingZeros().scale() <= 0) {
            return context.runtime.newFixnum(seconds.longValue());
        }
        return context.runtime.newFloat(plan.delay());
    }

    private IRubyObject env(ThreadContext context) {
        Map<String, byte[]> env = plan.env();
        if (env.isEmpty()) return context.nil;
        Ruby runtime = context.runtime;
        RubyHash hash = RubyHash.newHash(runtime);
        for (Map.Entry<String, byte[]> e : env.entrySet()) {
            hash.fastASet(RubyJRestart.string(runtime, e.getKey().getBytes(StandardCharsets.ISO_8859_1)),
                    e.getValue() == null ? context.nil : RubyJRestart.string(runtime, e.getValue()));
        }
        return hash.freeze(context);
    }
}
