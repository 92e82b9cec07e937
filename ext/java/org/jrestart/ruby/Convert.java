package org.jrestart.ruby;

import org.jrestart.core.Options;
import org.jrestart.core.launch.CloseMode;
import org.jrestart.core.launch.Strategy;
import org.jrestart.core.posix.JRestartException;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyBignum;
import org.jruby.RubyBoolean;
import org.jruby.RubyClass;
import org.jruby.RubyComplex;
import org.jruby.RubyFile;
import org.jruby.RubyFixnum;
import org.jruby.RubyHash;
import org.jruby.RubyIO;
import org.jruby.RubyNumeric;
import org.jruby.RubyString;
import org.jruby.RubySymbol;
import org.jruby.exceptions.RaiseException;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.StringSupport;
import org.jruby.util.io.ChannelFD;
import org.jruby.util.io.OpenFile;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Ruby values to what the core takes, with Ruby errors instead of casts. */
final class Convert {
    /** What fd() returns for a closed IO or a number no descriptor can have. */
    static final int INVALID_FD = -1;
    /** What osFd() returns for an open IO that JRuby runs on a Java stream, with no OS descriptor. */
    static final int NO_OS_FD = -2;

    private Convert() {
    }

    /** The OS descriptor of an Integer or an IO; INVALID_FD when closed or out of range. */
    static int fd(ThreadContext context, IRubyObject value) {
        int fd = osFd(context, value);
        if (fd == NO_OS_FD) {
            throw error(context.runtime, "JRuby has no OS descriptor for " + value.inspect()
                    + " (a Java stream, or native support disabled); pass an Integer fd instead");
        }
        return fd;
    }

    /** fd(), but NO_OS_FD rather than an error for an IO without an OS descriptor. */
    static int osFd(ThreadContext context, IRubyObject value) {
        if (value instanceof RubyFixnum) {
            long n = ((RubyFixnum) value).getLongValue();
            return n >= 0 && n <= Integer.MAX_VALUE ? (int) n : INVALID_FD;
        }
        if (value instanceof RubyBignum) return INVALID_FD;
        if (value instanceof RubyIO) {
            OpenFile file = ((RubyIO) value).getOpenFile();
            if (file == null || !file.isOpen()) return INVALID_FD;
            ChannelFD fd = file.fd();
            if (fd == null) return INVALID_FD;
            return fd.realFileno < 0 ? NO_OS_FD : fd.realFileno;
        }
        throw context.runtime.newTypeError("expected an Integer file descriptor or an IO, got "
                + value.getMetaClass().getRealClass().getName());
    }

    /** The bytes of a String (or an object with to_str); TypeError otherwise. */
    static byte[] string(ThreadContext context, IRubyObject value, String what) {
        IRubyObject str = value instanceof RubyString ? value : value.checkStringType();
        if (!(str instanceof RubyString)) {
            throw context.runtime.newTypeError(what + " must be a String, got "
                    + value.getMetaClass().getRealClass().getName());
        }
        return ((RubyString) str).getByteList().bytes();
    }

    /**
     * The constant among allowed that a Symbol names in lower case (:all for
     * ALL); TypeError for anything but a Symbol, ArgumentError for another name.
     */
    static <E extends Enum<E>> E choice(ThreadContext context, IRubyObject value, String what, EnumSet<E> allowed) {
        StringBuilder choices = new StringBuilder();
        for (E constant : allowed) {
            if (choices.length() > 0) choices.append(" or ");
            choices.append(':').append(constant.name().toLowerCase(Locale.ROOT));
        }
        if (!(value instanceof RubySymbol)) {
            throw context.runtime.newTypeError(what + " must be " + choices + ", got "
                    + value.getMetaClass().getRealClass().getName());
        }
        String name = value.asJavaString();
        for (E constant : allowed) {
            if (constant.name().toLowerCase(Locale.ROOT).equals(name)) return constant;
        }
        throw context.runtime.newArgumentError(what + " must be " + choices + ", got " + value.inspect());
    }

    /** A frozen copy of a String (or of what to_str gives, converted once). */
    static RubyString frozenString(ThreadContext context, IRubyObject value, String what) {
        IRubyObject str = value instanceof RubyString ? value : value.checkStringType();
        if (!(str instanceof RubyString)) {
            throw context.runtime.newTypeError(what + " must be a String, got "
                    + value.getMetaClass().getRealClass().getName());
        }
        RubyString copy = ((RubyString) str).strDup(context.runtime);
        copy.setFrozen(true);
        return copy;
    }

    /** launch's option names; reexec! takes env:, keep:, unsetenv_others:, listeners:, inherited_channel: and stop_timeout:. */
    static final List<String> LAUNCH_OPTIONS = Arrays.asList(
            "close", "keep", "chdir", "log", "env", "delay", "strategy", "unsetenv_others");
    /**
     * restart! and plan take launch's options, reason:, listeners:, inherited_channel:, stop_timeout:, and
     * overlap:, ready_timeout: and pidfile: for an overlap restart.
     */
    static final List<String> RESTART_OPTIONS = Arrays.asList(
            "close", "keep", "chdir", "log", "env", "delay", "strategy", "unsetenv_others", "reason", "listeners",
            "inherited_channel", "stop_timeout", "overlap", "ready_timeout", "pidfile");
    static final List<String> REEXEC_OPTIONS = Arrays.asList("env", "keep", "unsetenv_others", "listeners",
            "inherited_channel", "stop_timeout");

    /**
     * The options Hash as the core's Options, read by key; every value is
     * checked here and in Plan, never in Ruby. Unknown keys raise as Ruby's own
     * keyword check would.
     */
    static Options options(ThreadContext context, IRubyObject value, List<String> names) {
        Ruby runtime = context.runtime;
        if (!(value instanceof RubyHash)) {
            throw runtime.newTypeError("options must be a Hash, got " + value.getMetaClass().getRealClass().getName());
        }
        RubyHash hash = (RubyHash) value;
        List<String> unknown = new ArrayList<String>();
        for (Object key : hash.directKeySet()) {
            IRubyObject name = (IRubyObject) key;
            if (!(name instanceof RubySymbol) || !names.contains(name.asJavaString())) unknown.add(name.inspect().toString());
        }
        if (!unknown.isEmpty()) {
            throw runtime.newArgumentError("unknown keyword" + (unknown.size() > 1 ? "s" : "") + ": "
                    + String.join(", ", unknown));
        }
        Options options = new Options();
        IRubyObject v;
        if ((v = option(context, hash, "close")) != null) {
            options.close(choice(context, v, "close:", EnumSet.allOf(CloseMode.class)));
        }
        if ((v = option(context, hash, "keep")) != null) options.keep(fds(context, v, "keep:"));
        if ((v = option(context, hash, "listeners")) != null) options.listeners(fds(context, v, "listeners:"));
        // nil, like leaving it out: fd 0 of the new JVM is what it is now.
        if ((v = option(context, hash, "inherited_channel")) != null && !v.isNil()) {
            options.inheritedChannel(channelFd(context, v));
        }
        if ((v = option(context, hash, "chdir")) != null) options.chdir(path(context, v, "chdir:"));
        if ((v = option(context, hash, "log")) != null && !v.isNil()) options.log(path(context, v, "log:"));
        if ((v = option(context, hash, "env")) != null && !v.isNil()) env(context, options, v);
        if ((v = option(context, hash, "delay")) != null) options.delay(seconds(context, v, "delay:"));
        if ((v = option(context, hash, "strategy")) != null) {
            options.strategy(choice(context, v, "strategy:", EnumSet.of(Strategy.SPAWN, Strategy.FORK)));
        }
        if ((v = option(context, hash, "unsetenv_others")) != null) {
            if (!(v instanceof RubyBoolean)) {
                throw runtime.newTypeError("unsetenv_others: must be true or false, got "
                        + v.getMetaClass().getRealClass().getName());
            }
            options.unsetenvOthers(v.isTrue());
        }
        if ((v = option(context, hash, "reason")) != null && !v.isNil()) options.reason(reason(context, v));
        // nil, like leaving it out: the default (the unit's TimeoutStopUSec, else 90 s).
        if ((v = option(context, hash, "stop_timeout")) != null && !v.isNil()) {
            options.stopTimeout(seconds(context, v, "stop_timeout:"));
        }
        if ((v = option(context, hash, "overlap")) != null) {
            if (!(v instanceof RubyBoolean)) {
                throw runtime.newTypeError("overlap: must be true or false, got " + v.getMetaClass().getRealClass().getName());
            }
            options.overlap(v.isTrue());
        }
        if ((v = option(context, hash, "ready_timeout")) != null) {
            options.readyTimeout(seconds(context, v, "ready_timeout:"));
        }
        if ((v = option(context, hash, "pidfile")) != null && !v.isNil()) options.pidFile(path(context, v, "pidfile:"));
        return options;
    }

    /** reason: as text; its length is the core's to check. */
    private static String reason(ThreadContext context, IRubyObject value) {
        if (!(value instanceof RubyString)) {
            throw context.runtime.newTypeError("reason: must be a String, got "
                    + value.getMetaClass().getRealClass().getName());
        }
        RubyString text = (RubyString) value;
        if (text.scanForCodeRange() == StringSupport.CR_BROKEN) {
            throw context.runtime.newArgumentError("reason: is not valid " + text.getEncoding() + " text");
        }
        return text.decodeString();
    }

    private static IRubyObject option(ThreadContext context, RubyHash hash, String name) {
        return hash.fastARef(context.runtime.newSymbol(name));
    }

    /** keep: or listeners: as the OS descriptors of its Integers and IOs. */
    static int[] fds(ThreadContext context, IRubyObject value, String what) {
        if (!(value instanceof RubyArray)) {
            throw context.runtime.newTypeError(what + " must be an Array of Integer fds or IOs, got "
                    + value.getMetaClass().getRealClass().getName());
        }
        RubyArray<?> list = (RubyArray<?>) value;
        int[] fds = new int[list.size()];
        for (int i = 0; i < fds.length; i++) {
            IRubyObject item = list.eltOk(i);
            fds[i] = fd(context, item);
            if (fds[i] == INVALID_FD) throw context.runtime.newErrnoEBADFError(what + " " + item.inspect());
        }
        return fds;
    }

    /** inherited_channel: as the OS descriptor of its Integer or IO. */
    private static int channelFd(ThreadContext context, IRubyObject value) {
        if (!(value instanceof RubyFixnum) && !(value instanceof RubyBignum) && !(value instanceof RubyIO)) {
            throw context.runtime.newTypeError("inherited_channel: must be an Integer fd or a TCPServer, got "
                    + value.getMetaClass().getRealClass().getName());
        }
        int fd = fd(context, value);
        if (fd == INVALID_FD) throw context.runtime.newErrnoEBADFError("inherited_channel: " + value.inspect());
        return fd;
    }

    /** A number of seconds: finite and >= 0 is the core's to check. */
    static double seconds(ThreadContext context, IRubyObject value, String what) {
        if (!(value instanceof RubyNumeric) || value instanceof RubyComplex) {
            throw context.runtime.newTypeError(what + " must be a number of seconds, got "
                    + value.getMetaClass().getRealClass().getName());
        }
        return RubyNumeric.num2dbl(value);
    }

    /** env: over the options: a nil value removes the name. */
    private static void env(ThreadContext context, Options options, IRubyObject value) {
        if (!(value instanceof RubyHash)) {
            throw context.runtime.newTypeError("env: must be a Hash, got " + value.getMetaClass().getRealClass().getName());
        }
        for (Map.Entry<String, IRubyObject> e : entries(context, (RubyHash) value).entrySet()) {
            IRubyObject v = e.getValue();
            options.env(e.getKey(), v.isNil() ? null : bytes(context, v, "env: value of " + e.getKey()));
        }
    }

    /** Ruby's ENV, names as Latin-1 text so that every byte maps to one char and back. */
    static Map<String, byte[]> environment(ThreadContext context) {
        return environment(context, context.runtime.getENV());
    }

    /** An environment given as a Hash of Strings (ENV, or one like it). */
    static Map<String, byte[]> environment(ThreadContext context, RubyHash hash) {
        Map<String, byte[]> env = new LinkedHashMap<String, byte[]>();
        for (Map.Entry<String, IRubyObject> e : entries(context, hash).entrySet()) {
            env.put(e.getKey(), bytes(context, e.getValue(), "ENV value of " + e.getKey()));
        }
        return env;
    }

    private static Map<String, IRubyObject> entries(ThreadContext context, RubyHash hash) {
        Map<String, IRubyObject> entries = new LinkedHashMap<String, IRubyObject>();
        for (Object o : hash.directEntrySet()) {
            Map.Entry<?, ?> pair = (Map.Entry<?, ?>) o;
            IRubyObject name = (IRubyObject) pair.getKey();
            byte[] raw = name instanceof RubyString ? ((RubyString) name).getByteList().bytes()
                    : string(context, name, "an env: name");
            entries.put(new String(raw, StandardCharsets.ISO_8859_1), (IRubyObject) pair.getValue());
        }
        return entries;
    }

    /** A String's bytes, with the message built only for what is not a String (ENV is read on every launch). */
    private static byte[] bytes(ThreadContext context, IRubyObject value, String what) {
        return value instanceof RubyString ? ((RubyString) value).getByteList().bytes() : string(context, value, what);
    }

    /** The bytes of a path: a String or anything with to_path, such as a Pathname. */
    static byte[] path(ThreadContext context, IRubyObject value, String what) {
        if (!(value instanceof RubyString) && !value.respondsTo("to_path") && value.checkStringType().isNil()) {
            throw context.runtime.newTypeError(what + " must be a String or a Pathname, got "
                    + value.getMetaClass().getRealClass().getName());
        }
        RubyString path = value instanceof RubyString ? (RubyString) value : RubyFile.get_path(context, value);
        // Ruby's own File methods refuse these (Encoding::CompatibilityError); say which option it was.
        if (!path.getEncoding().isAsciiCompatible()) {
            throw context.runtime.newArgumentError(what + " must be in an ASCII-compatible encoding, got "
                    + path.getEncoding());
        }
        return path.getByteList().bytes();
    }

    /** An unsigned 64-bit C value as a Ruby Integer, a Bignum above Long.MAX_VALUE. */
    static IRubyObject unsigned(Ruby runtime, long value) {
        if (value >= 0) return runtime.newFixnum(value);
        return RubyBignum.newBignum(runtime, BigInteger.valueOf(value).add(BigInteger.ONE.shiftLeft(64)));
    }

    /** JRestart::Error, for failures that are not a system call's. */
    static RaiseException error(Ruby runtime, String message) {
        RubyClass error = (RubyClass) runtime.getModule("JRestart").getConstantAt("Error");
        return RaiseException.from(runtime, error, message);
    }

    /**
     * The Ruby error for a failure the core reports: Errno::X naming the
     * command, path or fd; ArgumentError; NotImplementedError; JRestart::Error.
     */
    static RaiseException failure(Ruby runtime, JRestartException e) {
        switch (e.kind()) {
            case ERRNO: return runtime.newErrnoFromInt(e.errno(), e.subject());
            case INVALID_ARGUMENT: return runtime.newArgumentError(e.subject());
            case UNSUPPORTED: return runtime.newNotImplementedError(e.subject());
            case RESTART_LOOP: return RaiseException.from(runtime,
                    (RubyClass) runtime.getModule("JRestart").getConstantAt("RestartLoop"), e.subject());
            case VETOED: return RaiseException.from(runtime,
                    (RubyClass) runtime.getModule("JRestart").getConstantAt("Vetoed"), e.subject());
            default: return error(runtime, e.subject());
        }
    }
}
