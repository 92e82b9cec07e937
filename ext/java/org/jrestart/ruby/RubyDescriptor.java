package org.jrestart.ruby;

import org.jrestart.core.posix.Descriptor;
import org.jrestart.core.posix.FileType;
import org.jruby.Ruby;
import org.jruby.RubyClass;
import org.jruby.RubyHash;
import org.jruby.RubyModule;
import org.jruby.RubyObject;
import org.jruby.anno.JRubyClass;
import org.jruby.anno.JRubyMethod;
import org.jruby.runtime.ObjectAllocator;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;

/** JRestart::Descriptor: one entry of JRestart.open_fds. */
@JRubyClass(name = "JRestart::Descriptor")
public final class RubyDescriptor extends RubyObject {
    private static final long serialVersionUID = 1L;

    private transient Descriptor descriptor;

    private RubyDescriptor(Ruby runtime, RubyClass type) {
        super(runtime, type);
    }

    static RubyClass createDescriptorClass(Ruby runtime, RubyModule jrestart) {
        RubyClass type = jrestart.defineClassUnder("Descriptor", runtime.getObject(),
                ObjectAllocator.NOT_ALLOCATABLE_ALLOCATOR);
        type.defineAnnotatedMethods(RubyDescriptor.class);
        return type;
    }

    static RubyDescriptor newDescriptor(ThreadContext context, Descriptor descriptor) {
        RubyClass type = (RubyClass) context.runtime.getModule("JRestart").getConstantAt("Descriptor");
        RubyDescriptor result = new RubyDescriptor(context.runtime, type);
        result.descriptor = descriptor;
        return result;
    }

    @JRubyMethod
    public IRubyObject fd(ThreadContext context) {
        return context.runtime.newFixnum(descriptor.fd);
    }

    @JRubyMethod
    public IRubyObject type(ThreadContext context) {
        return context.runtime.newSymbol(descriptor.type.label());
    }

    /** What /proc/self/fd links to: a path, "socket:[inode]", "pipe:[inode]", ... */
    @JRubyMethod
    public IRubyObject target(ThreadContext context) {
        return context.runtime.newString(descriptor.target);
    }

    @JRubyMethod(name = { "close_on_exec?", "cloexec?" })
    public IRubyObject close_on_exec_p(ThreadContext context) {
        return context.runtime.newBoolean(descriptor.closeOnExec);
    }

    @JRubyMethod(name = "socket?")
    public IRubyObject socket_p(ThreadContext context) {
        return context.runtime.newBoolean(descriptor.type == FileType.SOCKET);
    }

    /** :inet, :inet6, :unix (or :"family N") for a socket; nil otherwise. */
    @JRubyMethod
    public IRubyObject family(ThreadContext context) {
        return descriptor.socket == null ? context.nil : context.runtime.newSymbol(descriptor.socket.family);
    }

    /** "127.0.0.1:8080", "[::1]:8080", a UNIX socket path, "@name" (abstract) or "" for a socket; nil otherwise. */
    @JRubyMethod
    public IRubyObject local_address(ThreadContext context) {
        return descriptor.socket == null ? context.nil : context.runtime.newString(descriptor.socket.localAddress);
    }

    /** Whether the socket listens (SO_ACCEPTCONN); false for anything else. */
    @JRubyMethod(name = "listening?")
    public IRubyObject listening_p(ThreadContext context) {
        return context.runtime.newBoolean(descriptor.socket != null && descriptor.socket.listening);
    }

    @JRubyMethod
    public IRubyObject to_h(ThreadContext context) {
        Ruby runtime = context.runtime;
        RubyHash hash = RubyHash.newHash(runtime);
        hash.fastASet(runtime.newSymbol("fd"), fd(context));
        hash.fastASet(runtime.newSymbol("type"), type(context));
        hash.fastASet(runtime.newSymbol("target"), target(context));
        hash.fastASet(runtime.newSymbol("close_on_exec"), close_on_exec_p(context));
        if (descriptor.socket != null) {
            hash.fastASet(runtime.newSymbol("family"), family(context));
            hash.fastASet(runtime.newSymbol("local_address"), local_address(context));
            hash.fastASet(runtime.newSymbol("listening"), listening_p(context));
        }
        return hash;
    }

    @JRubyMethod
    public IRubyObject inspect(ThreadContext context) {
        StringBuilder s = new StringBuilder("#<JRestart::Descriptor ").append(descriptor.fd).append(' ')
                .append(descriptor.type.label()).append(' ').append(descriptor.target);
        if (descriptor.socket != null) {
            String address = descriptor.socket.localAddress;
            s.append(' ').append(descriptor.socket.family).append(' ').append(address.isEmpty() ? "unnamed" : address);
            if (descriptor.socket.listening) s.append(" listening");
        }
        if (descriptor.closeOnExec) s.append(" cloexec");
        return context.runtime.newString(s.append('>').toString());
    }
}
