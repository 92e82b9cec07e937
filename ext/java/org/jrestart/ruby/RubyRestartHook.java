package org.jrestart.ruby;

import org.jrestart.core.hooks.RestartHooks;
import org.jruby.Finalizable;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyClass;
import org.jruby.RubyModule;
import org.jruby.RubyObject;
import org.jruby.RubyProc;
import org.jruby.RubyTime;
import org.jruby.anno.JRubyClass;
import org.jruby.anno.JRubyMethod;
import org.jruby.exceptions.RaiseException;
import org.jruby.runtime.Block;
import org.jruby.runtime.ObjectAllocator;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.Visibility;
import org.jruby.runtime.builtin.IRubyObject;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * JRestart::RestartHook: one entry of the process's restart hooks
 * (RestartHooks), a block given to JRestart.on_restart here, in another JRuby
 * runtime, or a Java host's JRestart.onRestart. lib/jrestart/hooks.rb adds
 * JRestart::Restart, the object a block gets.
 */
@JRubyClass(name = "JRestart::RestartHook")
public final class RubyRestartHook extends RubyObject {
    private static final long serialVersionUID = 1L;

    private transient Object hook;

    private RubyRestartHook(Ruby runtime, RubyClass type) {
        super(runtime, type);
    }

    static void createRestartHookClass(Ruby runtime, RubyModule jrestart) {
        RubyClass type = jrestart.defineClassUnder("RestartHook", runtime.getObject(),
                ObjectAllocator.NOT_ALLOCATABLE_ALLOCATOR);
        type.defineAnnotatedMethods(RubyRestartHook.class);
        jrestart.defineAnnotatedMethods(Module.class);
    }

    private static RubyRestartHook wrap(ThreadContext context, Object hook) {
        Ruby runtime = context.runtime;
        RubyRestartHook result = new RubyRestartHook(runtime,
                (RubyClass) runtime.getModule("JRestart").getConstantAt("RestartHook"));
        result.hook = hook;
        return result;
    }

    /** Where the hook was registered: "file:line" of a block, the calling frame of a Java registration. */
    @JRubyMethod
    public IRubyObject location(ThreadContext context) {
        return context.runtime.newString(hook.toString()).freeze(context);
    }

    /** Takes the hook out of the process's list; false when it was removed already. */
    @JRubyMethod
    public IRubyObject remove(ThreadContext context) {
        if (hook instanceof Hook) ((Hook) hook).runtime.removeInternalFinalizer((Hook) hook);
        return context.runtime.newBoolean(RestartHooks.remove(hook));
    }

    // eql? too: hash is only of use to Hash and uniq with it.
    @JRubyMethod(name = {"==", "eql?"})
    public IRubyObject op_equal(ThreadContext context, IRubyObject other) {
        return context.runtime.newBoolean(other instanceof RubyRestartHook && ((RubyRestartHook) other).hook == hook);
    }

    // Not named hash: JRuby 10's RubyBasicObject has a hash(ThreadContext) returning RubyFixnum, which this
    // could not override, so the gem would not compile against JRuby 10.
    @JRubyMethod(name = "hash")
    public IRubyObject identity_hash(ThreadContext context) {
        return context.runtime.newFixnum(System.identityHashCode(hook));
    }

    @JRubyMethod
    public IRubyObject inspect(ThreadContext context) {
        return context.runtime.newString("#<JRestart::RestartHook " + hook + ">");
    }

    /** JRestart's module functions for hooks; lib/jrestart/hooks.rb gives on_restart its block. */
    public static final class Module {
        private Module() {
        }

        @JRubyMethod(name = "__on_restart", module = true, visibility = Visibility.PRIVATE)
        public static IRubyObject on_restart(ThreadContext context, IRubyObject self, IRubyObject proc,
                                             IRubyObject location) {
            Hook hook = new Hook(context.runtime, (RubyProc) proc, location.asJavaString());
            // A runtime torn down (a jruby-rack pool recycles them) takes its blocks out of the list.
            context.runtime.addInternalFinalizer(hook);
            RestartHooks.add(hook);
            return wrap(context, hook);
        }

        /** Every hook of the process, in the order they run. */
        @JRubyMethod(name = "restart_hooks", module = true)
        public static IRubyObject restart_hooks(ThreadContext context, IRubyObject self) {
            List<Object> hooks = RestartHooks.all();
            RubyArray<?> array = RubyArray.newArray(context.runtime, hooks.size());
            for (Object hook : hooks) array.append(wrap(context, hook));
            return array.freeze(context);
        }

        /** System.nanoTime(), the clock of Restart#remaining (the deadline's, in every runtime). */
        @JRubyMethod(name = "__nanos", module = true, visibility = Visibility.PRIVATE)
        public static IRubyObject nanos(ThreadContext context, IRubyObject self) {
            return context.runtime.newFixnum(System.nanoTime());
        }
    }

    /**
     * A block as a RestartHooks entry. It runs on the hook's own thread (JRuby
     * adopts it) and reports how the block ended: nothing when it returned,
     * else its error, which vetoes the restart. exit, throw and Thread#kill
     * end the block too, and veto it: none of them ends the JVM from here.
     */
    static final class Hook implements Function<Map<String, Object>, String>, Finalizable {
        private final Ruby runtime;
        private final RubyProc block;
        private final String location;

        Hook(Ruby runtime, RubyProc block, String location) {
            this.runtime = runtime;
            this.block = block;
            this.location = location;
        }

        @Override
        public String apply(Map<String, Object> restart) {
            ThreadContext context = runtime.getCurrentContext();
            try {
                block.call(context, restart(context, restart));
                return null;
            } catch (RaiseException e) {
                IRubyObject error = e.getException();
                String type = error.getMetaClass().getRealClass().getName();
                String message = error.callMethod(context, "message").asJavaString();
                if (type.equals("SystemExit")) {
                    return "it called exit (status " + error.callMethod(context, "status") + "), which a restart"
                            + " hook cannot do: return to let the restart go on, raise to refuse it";
                }
                return type + ": " + message;
            } catch (RuntimeException | Error e) {
                // Thread#kill of the hook's own thread ends the block with JRuby's ThreadKill.
                if (e.getClass().getName().equals("org.jruby.exceptions.ThreadKill")) {
                    return "its thread was killed (Thread#kill) before it returned";
                }
                throw e;
            }
        }

        private IRubyObject restart(ThreadContext context, Map<String, Object> restart) {
            Ruby runtime = context.runtime;
            Object reason = restart.get(RestartHooks.REASON);
            @SuppressWarnings("unchecked")
            List<String> words = (List<String>) restart.get(RestartHooks.COMMAND);
            RubyArray<?> command = RubyArray.newArray(runtime, words.size());
            for (String word : words) command.append(runtime.newString(word).freeze(context));
            IRubyObject[] values = {
                reason == null ? context.nil : runtime.newString((String) reason).freeze(context),
                runtime.newSymbol((String) restart.get(RestartHooks.MECHANISM)),
                command.freeze(context),
                RubyTime.newTime(runtime, (Long) restart.get(RestartHooks.DEADLINE_MILLIS)),
                runtime.newFloat((Long) restart.get(RestartHooks.TIMEOUT_NANOS) / 1e9),
                runtime.newFixnum((Long) restart.get(RestartHooks.DEADLINE_NANOS))
            };
            RubyClass type = (RubyClass) runtime.getModule("JRestart").getConstantAt("Restart");
            return type.newInstance(context, values, Block.NULL_BLOCK);
        }

        /** Called when the block's runtime is torn down. */
        @Override
        public void finalize() {
            RestartHooks.remove(this);
        }

        @Override
        public String toString() {
            return location;
        }
    }
}
