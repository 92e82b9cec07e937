package org.jrestart.ruby;

import org.jrestart.core.PosixException;
import org.jruby.Ruby;
import org.jruby.RubyBignum;
import org.jruby.RubyClass;
import org.jruby.RubyFile;
import org.jruby.RubyFixnum;
import org.jruby.RubyIO;
import org.jruby.RubyString;
import org.jruby.RubySymbol;
import org.jruby.exceptions.RaiseException;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.io.ChannelFD;
import org.jruby.util.io.OpenFile;

import java.math.BigInteger;
import java.util.Locale;

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
     * The constant of type that a Symbol names in lower case (:all for ALL);
     * TypeError for anything but a Symbol, ArgumentError for another name.
     */
    static <E extends Enum<E>> E choice(ThreadContext context, IRubyObject value, String what, Class<E> type) {
        StringBuilder choices = new StringBuilder();
        for (E constant : type.getEnumConstants()) {
            if (choices.length() > 0) choices.append(" or ");
            choices.append(':').append(constant.name().toLowerCase(Locale.ROOT));
        }
        if (!(value instanceof RubySymbol)) {
            throw context.runtime.newTypeError(what + " must be " + choices + ", got "
                    + value.getMetaClass().getRealClass().getName());
        }
        String name = value.asJavaString();
        for (E constant : type.getEnumConstants()) {
            if (constant.name().toLowerCase(Locale.ROOT).equals(name)) return constant;
        }
        throw context.runtime.newArgumentError(what + " must be " + choices + ", got " + value.inspect());
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
     * The Ruby error for what the core reports with a runtime exception: bad
     * arguments (ArgumentError), an unknown platform (NotImplementedError), an
     * unreadable /proc (JRestart::Error).
     */
    static RaiseException failure(Ruby runtime, RuntimeException e) {
        if (e instanceof IllegalArgumentException) return runtime.newArgumentError(e.getMessage());
        if (e instanceof UnsupportedOperationException) return runtime.newNotImplementedError(e.getMessage());
        return error(runtime, e.getMessage());
    }

    /** Errno::X with the subject (command, path, fd) as its message. */
    static RaiseException errno(Ruby runtime, PosixException e) {
        return runtime.newErrnoFromInt(e.errno(), e.subject());
    }
}
