package org.jrestart.ruby;

import org.jrestart.core.listen.Listener;
import org.jrestart.core.listen.Listeners;
import org.jrestart.core.posix.JRestartException;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyFixnum;
import org.jruby.RubyModule;
import org.jruby.RubyString;
import org.jruby.anno.JRubyMethod;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.Visibility;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.io.ChannelFD;

import java.nio.channels.ServerSocketChannel;
import java.util.List;

/**
 * JRestart.listen's and JRestart.listeners' native half. JRuby cannot adopt
 * an inherited socket itself (TCPServer.for_fd(3) raises "closed stream"),
 * but it takes a JDK channel registered in its fileno table: the core
 * returns a real ServerSocketChannel, registered here, and
 * lib/jrestart/listen.rb wraps it with TCPServer.for_fd.
 */
public final class RubyListen {
    private RubyListen() {
    }

    static void define(RubyModule jrestart) {
        jrestart.defineAnnotatedMethods(RubyListen.class);
    }

    /** The fileno of a listener on host:port (adopted or bound) registered with this runtime. */
    @JRubyMethod(name = "__listen", module = true, visibility = Visibility.PRIVATE)
    public static IRubyObject listen(ThreadContext context, IRubyObject self, IRubyObject host, IRubyObject port,
                                     IRubyObject backlog) {
        Ruby runtime = context.runtime;
        String address = host.isNil() ? "0.0.0.0" : Convert.frozenString(context, host, "host").asJavaString();
        int number = port(context, port);
        if (!(backlog instanceof RubyFixnum)) {
            throw runtime.newTypeError("backlog: must be an Integer, got " + backlog.getMetaClass().getRealClass().getName());
        }
        long queue = ((RubyFixnum) backlog).getLongValue();
        if (queue < 1 || queue > Integer.MAX_VALUE) {
            throw runtime.newArgumentError("backlog: must be a positive Integer, got " + queue);
        }
        ServerSocketChannel channel;
        try {
            channel = Listeners.listen(address, number, (int) queue);
        } catch (JRestartException e) {
            throw Convert.failure(runtime, e);
        }
        ChannelFD fd = new ChannelFD(channel, runtime.getPosix(), runtime.getFilenoUtil());
        int fileno = fd.bestFileno();
        runtime.getFilenoUtil().registerWrapper(fileno, fd);
        return runtime.newFixnum(fileno);
    }

    /** A port as TCPServer.new takes it: an Integer, or a String of digits. */
    private static int port(ThreadContext context, IRubyObject port) {
        long value;
        if (port instanceof RubyFixnum) {
            value = ((RubyFixnum) port).getLongValue();
        } else if (port instanceof RubyString && port.asJavaString().matches("[0-9]{1,5}")) {
            value = Long.parseLong(port.asJavaString());
        } else {
            throw context.runtime.newTypeError("port must be an Integer (or a String of digits), got "
                    + (port instanceof RubyString ? port.inspect() : port.getMetaClass().getRealClass().getName()));
        }
        if (value < 0 || value > 65535) throw context.runtime.newArgumentError("port must be 0 to 65535, got " + value);
        return (int) value;
    }

    /** The listeners this JVM inherited: [[fd, host, port, name, adopted], ...]. */
    @JRubyMethod(name = "__listeners", module = true, visibility = Visibility.PRIVATE)
    public static IRubyObject listeners(ThreadContext context, IRubyObject self) {
        Ruby runtime = context.runtime;
        List<Listener> inherited;
        try {
            inherited = Listeners.inherited();
        } catch (JRestartException e) {
            throw Convert.failure(runtime, e);
        }
        RubyArray<?> result = RubyArray.newArray(runtime, inherited.size());
        for (Listener l : inherited) {
            result.append(RubyArray.newArray(runtime, new IRubyObject[] {runtime.newFixnum(l.fd),
                    runtime.newString(l.host).freeze(context), runtime.newFixnum(l.port),
                    l.name == null ? context.nil : runtime.newString(l.name).freeze(context),
                    runtime.newBoolean(l.adopted)}));
        }
        return result;
    }
}
