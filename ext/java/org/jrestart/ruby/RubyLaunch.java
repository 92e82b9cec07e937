package org.jrestart.ruby;

import org.jrestart.core.launch.Child;
import org.jrestart.core.launch.Wakeup;
import org.jrestart.core.posix.JRestartException;
import org.jruby.Ruby;
import org.jruby.RubyClass;
import org.jruby.RubyComplex;
import org.jruby.RubyModule;
import org.jruby.RubyNumeric;
import org.jruby.RubyObject;
import org.jruby.RubyProcess;
import org.jruby.RubyThread;
import org.jruby.anno.JRubyClass;
import org.jruby.anno.JRubyMethod;
import org.jruby.runtime.ObjectAllocator;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

/** JRestart::Launch: a command started by JRestart.launch, reaped by a thread waiting for it or in the background. */
@JRubyClass(name = "JRestart::Launch")
public final class RubyLaunch extends RubyObject {
    private static final long serialVersionUID = 1L;
    private transient Child child;
    private IRubyObject command;
    private IRubyObject args;

    private RubyLaunch(Ruby runtime, RubyClass type) {
        super(runtime, type);
    }

    static RubyClass createLaunchClass(Ruby runtime, RubyModule jrestart) {
        RubyClass type = jrestart.defineClassUnder("Launch", runtime.getObject(), ObjectAllocator.NOT_ALLOCATABLE_ALLOCATOR);
        type.defineAnnotatedMethods(RubyLaunch.class);
        return type;
    }

    /** command and args: the frozen Strings of the plan that was executed. */
    static RubyLaunch newLaunch(ThreadContext context, Child child, IRubyObject command, IRubyObject args) {
        RubyClass type = (RubyClass) context.runtime.getModule("JRestart").getConstantAt("Launch");
        RubyLaunch launch = new RubyLaunch(context.runtime, type);
        launch.child = child;
        launch.command = command;
        launch.args = args;
        return launch;
    }

    @JRubyMethod
    public IRubyObject pid(ThreadContext context) {
        return context.runtime.newFixnum(child.pid());
    }

    /** The command as it was given. */
    @JRubyMethod
    public IRubyObject command(ThreadContext context) {
        return command;
    }

    @JRubyMethod
    public IRubyObject args(ThreadContext context) {
        return args;
    }

    /** The file that was executed: the command, looked up in PATH when it was a bare name. */
    @JRubyMethod
    public IRubyObject path(ThreadContext context) {
        return context.runtime.newString(new ByteList(child.path(), false));
    }

    @JRubyMethod(name = "exited?")
    public IRubyObject exited_p(ThreadContext context) {
        return context.runtime.newBoolean(child.isDone());
    }

    @JRubyMethod
    public IRubyObject wait(ThreadContext context) {
        return waitFor(context, -1);
    }

    /** The command's Process::Status once it has exited; nil when timeout seconds pass first. */
    @JRubyMethod
    public IRubyObject wait(ThreadContext context, IRubyObject timeout) {
        if (timeout.isNil()) return waitFor(context, -1);
        if (!(timeout instanceof RubyNumeric) || timeout instanceof RubyComplex) {
            throw context.runtime.newTypeError("timeout must be a number of seconds or nil, got "
                    + timeout.getMetaClass().getRealClass().getName());
        }
        double seconds = RubyNumeric.num2dbl(timeout);
        if (!(seconds >= 0)) throw context.runtime.newArgumentError("timeout must be >= 0, got " + timeout.inspect());
        return waitFor(context, Double.isInfinite(seconds) ? -1 : (long) (seconds * 1e9));
    }

    private IRubyObject waitFor(ThreadContext context, long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        try (Wakeup wakeup = new Wakeup()) {
            while (true) {
                long left = timeoutNanos < 0 ? -1 : Math.max(deadline - System.nanoTime(), 0);
                wakeup.clear();
                try {
                    // Thread#raise, Thread#kill and Ctrl-C call the task's wakeup; executeTask raises them after run.
                    if (context.getThread().executeTask(context, left, new Await(child, wakeup))) break;
                } catch (InterruptedException e) {
                    // Await.run never throws it; whatever interrupted the thread is raised here, if anything.
                    context.pollThreadEvents();
                }
                if (left == 0) return context.nil;
            }
        }
        try {
            return RubyProcess.RubyStatus.newProcessStatus(context.runtime, child.status(), child.pid());
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    /** Child.await as a blocking task of the Ruby thread. */
    private static final class Await implements RubyThread.Task<Long, Boolean> {
        private final Child child;
        private final Wakeup wakeup;

        Await(Child child, Wakeup wakeup) {
            this.child = child;
            this.wakeup = wakeup;
        }

        @Override
        public Boolean run(ThreadContext context, Long timeoutNanos) {
            return child.await(timeoutNanos, wakeup);
        }

        @Override
        public void wakeup(RubyThread thread, Long timeoutNanos) {
            wakeup.wake();
        }
    }

    @JRubyMethod
    public IRubyObject inspect(ThreadContext context) {
        return context.runtime.newString("#<JRestart::Launch pid=" + child.pid() + " command="
                + command.inspect() + (child.isDone() ? " exited" : "") + ">");
    }
}
