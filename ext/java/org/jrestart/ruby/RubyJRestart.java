package org.jrestart.ruby;

import org.jrestart.core.Child;
import org.jrestart.core.CloseMode;
import org.jrestart.core.Descriptor;
import org.jrestart.core.Descriptors;
import org.jrestart.core.LaunchRequest;
import org.jrestart.core.Launcher;
import org.jrestart.core.PosixException;
import org.jrestart.core.Reexec;
import org.jrestart.core.Strategy;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyBoolean;
import org.jruby.RubyClass;
import org.jruby.RubyComplex;
import org.jruby.RubyHash;
import org.jruby.RubyModule;
import org.jruby.RubyNumeric;
import org.jruby.RubyString;
import org.jruby.anno.JRubyMethod;
import org.jruby.anno.JRubyModule;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.Visibility;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JRestart module's native functions; lib/jrestart/launch.rb adds the keyword API on top. */
@JRubyModule(name = "JRestart")
public final class RubyJRestart {
    private RubyJRestart() {
    }

    static RubyModule createJRestartModule(Ruby runtime) {
        RubyModule jrestart = runtime.defineModule("JRestart");
        RubyClass standardError = runtime.getStandardError();
        jrestart.defineClassUnder("Error", standardError, standardError.getAllocator());
        jrestart.defineAnnotatedMethods(RubyJRestart.class);
        return jrestart;
    }

    @JRubyMethod(name = "socket?", module = true)
    public static IRubyObject socket_p(ThreadContext context, IRubyObject self, IRubyObject fdOrIo) {
        int fd = Convert.fd(context, fdOrIo);
        try {
            return context.runtime.newBoolean(fd != Convert.INVALID_FD && Descriptors.isSocket(fd));
        } catch (IllegalArgumentException | UnsupportedOperationException | IllegalStateException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    @JRubyMethod(name = "fstat", module = true)
    public static IRubyObject fstat(ThreadContext context, IRubyObject self, IRubyObject fdOrIo) {
        int fd = Convert.fd(context, fdOrIo);
        try {
            return RubyStat.newStat(context, Descriptors.fstat(fd));
        } catch (PosixException e) {
            throw context.runtime.newErrnoFromInt(e.errno(), "fstat(" + fdOrIo.inspect() + ")");
        } catch (IllegalArgumentException | UnsupportedOperationException | IllegalStateException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    /** What this libc offers and which fallbacks are in use: {fstat:, stat_layout:, closefrom:, chdir:}. */
    @JRubyMethod(name = "features", module = true)
    public static IRubyObject features(ThreadContext context, IRubyObject self) {
        Ruby runtime = context.runtime;
        RubyHash features = RubyHash.newHash(runtime);
        String fstat = Descriptors.fstatSymbol();
        String layout = Descriptors.statLayout();
        features.fastASet(runtime.newSymbol("fstat"), fstat == null ? context.nil : runtime.newSymbol(fstat));
        features.fastASet(runtime.newSymbol("stat_layout"), layout == null ? context.nil : runtime.newString(layout));
        features.fastASet(runtime.newSymbol("closefrom"), runtime.newBoolean(Launcher.hasCloseFrom()));
        features.fastASet(runtime.newSymbol("chdir"), runtime.newBoolean(Launcher.hasChdir()));
        features.fastASet(runtime.newSymbol("close_range"), runtime.newBoolean(Launcher.hasCloseRange()));
        features.fastASet(runtime.newSymbol("reaper"), runtime.newSymbol(Child.polling() ? "pidfd" : "thread"));
        return features;
    }

    @JRubyMethod(name = "open_fds", module = true)
    public static IRubyObject open_fds(ThreadContext context, IRubyObject self) {
        List<Descriptor> fds;
        try {
            fds = Descriptors.list();
        } catch (IllegalArgumentException | UnsupportedOperationException | IllegalStateException e) {
            throw Convert.failure(context.runtime, e);
        }
        RubyArray<?> result = RubyArray.newArray(context.runtime, fds.size());
        for (Descriptor fd : fds) result.append(RubyDescriptor.newDescriptor(context, fd));
        return result;
    }

    /**
     * launch(command, *args, close:, keep:, chdir:, log:, env:, delay:, strategy:,
     * unsetenv_others:) after
     * lib/jrestart/launch.rb has applied Ruby's keyword rules; every value is
     * still checked here.
     */
    @JRubyMethod(name = "__launch", module = true, required = 10, visibility = Visibility.PRIVATE)
    public static IRubyObject launch(ThreadContext context, IRubyObject self, IRubyObject[] argv) {
        Ruby runtime = context.runtime;
        IRubyObject command = argv[0];
        LaunchRequest request = new LaunchRequest(Convert.string(context, command, "the command"));
        if (!(argv[1] instanceof RubyArray)) throw runtime.newTypeError("args must be an Array");
        RubyArray<?> args = (RubyArray<?>) argv[1];
        for (int i = 0; i < args.size(); i++) {
            request.arg(Convert.string(context, args.eltOk(i), "argument " + (i + 1)));
        }
        request.close(Convert.choice(context, argv[2], "close:", CloseMode.class));
        request.keep(keep(context, argv[3]));
        request.chdir(Convert.path(context, argv[4], "chdir:"));
        if (!argv[5].isNil()) request.log(Convert.path(context, argv[5], "log:"));
        Map<String, byte[]> env = environment(context, argv[6], argv[9]);
        for (Map.Entry<String, byte[]> e : env.entrySet()) request.env(entry(e.getKey(), e.getValue()));
        if (env.containsKey("PATH")) request.searchPath(env.get("PATH"));
        request.delay(delay(context, argv[7]));
        request.strategy(Convert.choice(context, argv[8], "strategy:", Strategy.class));
        try {
            Child child = Launcher.launch(request);
            return RubyLaunch.newLaunch(context, child, command, args);
        } catch (PosixException e) {
            throw Convert.errno(runtime, e);
        } catch (IllegalArgumentException | UnsupportedOperationException | IllegalStateException e) {
            throw Convert.failure(runtime, e);
        }
    }

    /** The file launch would execute for command with env: (the child's PATH); raises as launch would. */
    @JRubyMethod(name = "__resolve", module = true, visibility = Visibility.PRIVATE)
    public static IRubyObject resolve(ThreadContext context, IRubyObject self, IRubyObject command, IRubyObject env,
                                      IRubyObject unsetOthers) {
        byte[] path = environment(context, env, unsetOthers).get("PATH");
        try {
            byte[] file = Launcher.resolve(Convert.string(context, command, "the command"), path == null ? new byte[0] : path);
            return context.runtime.newString(new ByteList(file, false));
        } catch (PosixException e) {
            throw Convert.errno(context.runtime, e);
        } catch (IllegalArgumentException | UnsupportedOperationException | IllegalStateException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    /**
     * reexec!(argv, env:, keep:) after lib/jrestart/reexec.rb has chosen the
     * program and argv: returns only by raising when the exec fails.
     */
    @JRubyMethod(name = "__reexec", module = true, required = 5, visibility = Visibility.PRIVATE)
    public static IRubyObject reexec(ThreadContext context, IRubyObject self, IRubyObject[] args) {
        Ruby runtime = context.runtime;
        if (!(args[1] instanceof RubyArray) || ((RubyArray<?>) args[1]).isEmpty()) {
            throw runtime.newTypeError("argv must be a non-empty Array of Strings");
        }
        RubyArray<?> argv = (RubyArray<?>) args[1];
        List<byte[]> arguments = new ArrayList<byte[]>();
        for (int i = 0; i < argv.size(); i++) arguments.add(Convert.string(context, argv.eltOk(i), "argv[" + i + "]"));
        Map<String, byte[]> env = environment(context, args[2], args[4]);
        List<byte[]> entries = new ArrayList<byte[]>();
        for (Map.Entry<String, byte[]> e : env.entrySet()) entries.add(entry(e.getKey(), e.getValue()));
        byte[] search = env.containsKey("PATH") ? env.get("PATH") : new byte[0];
        try {
            byte[] program = Launcher.resolve(Convert.string(context, args[0], "the program"), search);
            Reexec.exec(program, arguments, entries, keep(context, args[3]));
            throw new IllegalStateException("execve returned without an error");
        } catch (PosixException e) {
            throw Convert.errno(runtime, e);
        } catch (IllegalArgumentException | UnsupportedOperationException | IllegalStateException e) {
            throw Convert.failure(runtime, e);
        }
    }

    /** keep: as launch reads and checks it: the sorted OS descriptors. */
    @JRubyMethod(name = "__keep", module = true, visibility = Visibility.PRIVATE)
    public static IRubyObject keep(ThreadContext context, IRubyObject self, IRubyObject fds) {
        try {
            int[] keep = Launcher.checkKeep(keep(context, fds));
            RubyArray<?> result = RubyArray.newArray(context.runtime, keep.length);
            for (int fd : keep) result.append(context.runtime.newFixnum(fd));
            return result;
        } catch (PosixException e) {
            throw Convert.errno(context.runtime, e);
        } catch (IllegalArgumentException | UnsupportedOperationException | IllegalStateException e) {
            throw Convert.failure(context.runtime, e);
        }
    }

    private static int[] keep(ThreadContext context, IRubyObject value) {
        if (!(value instanceof RubyArray)) {
            throw context.runtime.newTypeError("keep: must be an Array of Integer fds or IOs, got "
                    + value.getMetaClass().getRealClass().getName());
        }
        RubyArray<?> list = (RubyArray<?>) value;
        int[] fds = new int[list.size()];
        for (int i = 0; i < fds.length; i++) {
            IRubyObject item = list.eltOk(i);
            fds[i] = Convert.fd(context, item);
            if (fds[i] == Convert.INVALID_FD) {
                throw context.runtime.newErrnoEBADFError("keep: " + item.inspect());
            }
        }
        return fds;
    }

    /** Ruby's ENV, with env: applied on top as Process.spawn does (nil removes a name). */
    /** ENV with env: merged over it, or env: alone with unsetenv_others: true. */
    private static Map<String, byte[]> environment(ThreadContext context, IRubyObject value, IRubyObject unsetOthers) {
        Ruby runtime = context.runtime;
        if (!(unsetOthers instanceof RubyBoolean)) {
            throw runtime.newTypeError("unsetenv_others: must be true or false, got "
                    + unsetOthers.getMetaClass().getRealClass().getName());
        }
        Map<String, byte[]> env = new LinkedHashMap<String, byte[]>();
        if (!unsetOthers.isTrue()) putAll(context, env, runtime.getENV());
        if (!value.isNil()) {
            if (!(value instanceof RubyHash)) {
                throw runtime.newTypeError("env: must be a Hash, got " + value.getMetaClass().getRealClass().getName());
            }
            putAll(context, env, (RubyHash) value);
        }
        return env;
    }

    private static void putAll(ThreadContext context, Map<String, byte[]> env, RubyHash hash) {
        for (Object o : hash.directEntrySet()) {
            Map.Entry<?, ?> pair = (Map.Entry<?, ?>) o;
            IRubyObject name = (IRubyObject) pair.getKey();
            IRubyObject value = (IRubyObject) pair.getValue();
            // Names are kept as Latin-1 text so that every byte maps to one char and back.
            byte[] raw = name instanceof RubyString ? ((RubyString) name).getByteList().bytes()
                    : Convert.string(context, name, "an env: name");
            String key = new String(raw, StandardCharsets.ISO_8859_1);
            if (key.isEmpty() || key.indexOf('=') >= 0 || key.indexOf('\0') >= 0) {
                throw context.runtime.newArgumentError("env: name " + name.inspect() + " is not a valid name");
            }
            if (value.isNil()) env.remove(key);
            // The message is built only for a value that is not a String: ENV is converted on every launch.
            else if (value instanceof RubyString) env.put(key, ((RubyString) value).getByteList().bytes());
            else env.put(key, Convert.string(context, value, "env: value of " + name.inspect()));
        }
    }

    private static byte[] entry(String name, byte[] value) {
        byte[] key = name.getBytes(StandardCharsets.ISO_8859_1);
        byte[] entry = Arrays.copyOf(key, key.length + 1 + value.length);
        entry[key.length] = '=';
        System.arraycopy(value, 0, entry, key.length + 1, value.length);
        return entry;
    }

    private static double delay(ThreadContext context, IRubyObject value) {
        if (!(value instanceof RubyNumeric) || value instanceof RubyComplex) {
            throw context.runtime.newTypeError("delay: must be a number of seconds, got "
                    + value.getMetaClass().getRealClass().getName());
        }
        double seconds = RubyNumeric.num2dbl(value);
        if (!(seconds >= 0) || Double.isInfinite(seconds)) {
            throw context.runtime.newArgumentError("delay: must be a finite number of seconds >= 0, got "
                    + value.inspect());
        }
        return seconds;
    }
}
