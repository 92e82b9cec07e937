package org.jrestart.ruby;

import org.jrestart.core.host.Detect;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Proc;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyHash;
import org.jruby.RubyModule;
import org.jruby.RubyNumeric;
import org.jruby.anno.JRubyMethod;
import org.jruby.anno.JRubyModule;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** JRestart::Detect: the core's service-manager detection, with Ruby values. */
@JRubyModule(name = "JRestart::Detect")
public final class RubyDetect {
    private RubyDetect() {
    }

    static RubyModule createDetectModule(Ruby runtime, RubyModule jrestart) {
        RubyModule detect = jrestart.defineModuleUnder("Detect");
        detect.defineAnnotatedMethods(RubyDetect.class);
        return detect;
    }

    /** The JRestart::Manager running this process, or nil. */
    @JRubyMethod(module = true)
    public static IRubyObject call(ThreadContext context, IRubyObject self) {
        return RubyJRestart.manager(context, Detect.detect(pid(context), text(context, context.runtime.getENV())));
    }

    /** The systemd unit named by the contents of a /proc/PID/cgroup, as a JRestart::Manager, or nil. */
    @JRubyMethod(module = true)
    public static IRubyObject systemd(ThreadContext context, IRubyObject self, IRubyObject cgroup, IRubyObject env) {
        String text = cgroup.isNil() ? "" : cgroup.convertToString().asJavaString();
        return RubyJRestart.manager(context, Detect.systemd(text, text(context, env)));
    }

    /** supervisord from its environment variables and the ancestors ([[pid, comm], ...]), or nil. */
    @JRubyMethod(module = true)
    public static IRubyObject supervisord(ThreadContext context, IRubyObject self, IRubyObject ancestors,
                                          IRubyObject env) {
        List<Detect.Ancestor> chain = new ArrayList<Detect.Ancestor>();
        RubyArray<?> list = RubyJRestart.array(context, ancestors, "ancestors");
        for (int i = 0; i < list.size(); i++) {
            RubyArray<?> pair = RubyJRestart.array(context, list.eltOk(i), "ancestors[" + i + "]");
            chain.add(new Detect.Ancestor(RubyNumeric.num2int(pair.eltOk(0)), pair.eltOk(1).convertToString().asJavaString()));
        }
        return RubyJRestart.manager(context, Detect.supervisord(chain, text(context, env)));
    }

    /** What detection looked at, for an error that says why it found nothing. */
    @JRubyMethod(module = true)
    public static IRubyObject explain(ThreadContext context, IRubyObject self) {
        return context.runtime.newString(Detect.explain(pid(context), text(context, context.runtime.getENV())));
    }

    private static int pid(ThreadContext context) {
        try {
            return Proc.selfPid();
        } catch (JRestartException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    private static Map<String, String> text(ThreadContext context, IRubyObject env) {
        if (!(env instanceof RubyHash)) {
            throw context.runtime.newTypeError("env must be a Hash or ENV, got " + env.getMetaClass().getRealClass().getName());
        }
        Map<String, String> text = new LinkedHashMap<String, String>();
        for (Object o : ((RubyHash) env).directEntrySet()) {
            Map.Entry<?, ?> pair = (Map.Entry<?, ?>) o;
            IRubyObject value = (IRubyObject) pair.getValue();
            text.put(pair.getKey().toString(), value.isNil() ? null : value.toString());
        }
        return text;
    }
}
