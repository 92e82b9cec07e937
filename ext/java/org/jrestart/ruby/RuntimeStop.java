package org.jrestart.ruby;

import org.jrestart.core.posix.Warnings;
import org.jrestart.core.stop.OrderlyStop;
import org.jruby.Finalizable;
import org.jruby.Ruby;
import org.jruby.RubyIO;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.io.OpenFile;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Lock;

/**
 * One JRuby runtime's part of an orderly stop: what Ruby#tearDown runs
 * first (userTeardown: the at_exit handlers, then the finalizers), and a
 * flush of every IO still open, so that data written with sync = false
 * reaches its file before the exec. The rest of the teardown (threads
 * killed, the symbol table cleared) is left out on purpose: the JVM's
 * shutdown hooks run after this, and one written as a Ruby block needs a
 * runtime that still works (NOTES.md: it dies with NullPointerException
 * after a full teardown). The exec ends the process anyway.
 *
 * userTeardown and the table of open IOs are private to Ruby (9.4 and
 * 10.0 alike), so they are reached by reflection; where a JRuby lacks
 * them, the stop says so and does what it can.
 */
final class RuntimeStop implements Runnable, Finalizable {
    private static final Method USER_TEARDOWN = method("userTeardown", ThreadContext.class);
    private static final Field INTERNAL_FINALIZERS = field("internalFinalizers");
    private static final Field INTERNAL_FINALIZERS_MUTEX = field("internalFinalizersMutex");

    private final Ruby runtime;
    private OrderlyStop.Registration registration;

    private RuntimeStop(Ruby runtime) {
        this.runtime = runtime;
    }

    /**
     * Registers runtime's stop. A runtime torn down by its host
     * (ScriptingContainer#terminate) finalizes it, which takes it back. The
     * stop thread holds this object, so the runtime's weak table of internal
     * finalizers keeps it until then, and the JVM never finalizes it early.
     */
    static void register(Ruby runtime) {
        RuntimeStop stop = new RuntimeStop(runtime);
        stop.registration = OrderlyStop.register("at_exit handlers of JRuby runtime "
                + Integer.toHexString(System.identityHashCode(runtime)), stop);
        runtime.addInternalFinalizer(stop);
    }

    /** The runtime's teardown: its stop must never run. */
    @Override
    public void finalize() {
        registration.cancel();
    }

    @Override
    public void run() {
        ThreadContext context = runtime.getCurrentContext();
        // Flushed first as well: an at_exit handler that calls exit! never comes back.
        flush(context);
        if (USER_TEARDOWN == null) {
            Warnings.warn("this JRuby has no Ruby#userTeardown: at_exit handlers do not run before the exec");
        } else {
            try {
                USER_TEARDOWN.invoke(runtime, context);
            } catch (IllegalAccessException e) {
                Warnings.warn("at_exit handlers cannot be run: " + e);
            } catch (InvocationTargetException e) {
                Warnings.warn("an at_exit handler failed: " + e.getCause());
            }
        }
        flush(context);
    }

    /** Writes out what every IO of the runtime still buffers. */
    private void flush(ThreadContext context) {
        flushStdio(context);
        for (OpenFile file : openFiles()) {
            if (!file.isOpen() || !file.isWritable()) continue;
            boolean locked = file.lock();
            try {
                file.io_fflush(context);
            } finally {
                if (locked) file.unlock();
            }
        }
    }

    private void flushStdio(ThreadContext context) {
        for (String name : new String[] {"$stdout", "$stderr"}) {
            IRubyObject io = runtime.getGlobalVariables().get(name);
            if (io instanceof RubyIO && !((RubyIO) io).isClosed()) ((RubyIO) io).flush(context);
        }
    }

    /** The OpenFiles the runtime finalizes at its teardown: every IO that is still open. */
    private List<OpenFile> openFiles() {
        List<OpenFile> files = new ArrayList<OpenFile>();
        if (INTERNAL_FINALIZERS == null || INTERNAL_FINALIZERS_MUTEX == null) return files;
        try {
            Map<?, ?> finalizers = (Map<?, ?>) INTERNAL_FINALIZERS.get(runtime);
            if (finalizers == null) return files;
            Object mutex = INTERNAL_FINALIZERS_MUTEX.get(runtime);
            // JRuby 10 guards the table with a ReentrantLock, 9.4 with a monitor.
            if (mutex instanceof Lock) {
                ((Lock) mutex).lock();
                try {
                    collect(finalizers, files);
                } finally {
                    ((Lock) mutex).unlock();
                }
            } else {
                synchronized (mutex) {
                    collect(finalizers, files);
                }
            }
        } catch (IllegalAccessException e) {
            Warnings.warn("the runtime's open IOs cannot be listed, buffered data may be lost: " + e);
        }
        return files;
    }

    private static void collect(Map<?, ?> finalizers, List<OpenFile> files) {
        for (Object key : finalizers.keySet()) {
            if (key instanceof OpenFile) files.add((OpenFile) key);
        }
    }

    private static Method method(String name, Class<?>... types) {
        try {
            Method method = Ruby.class.getDeclaredMethod(name, types);
            method.setAccessible(true);
            return method;
        } catch (NoSuchMethodException | RuntimeException e) {
            return null;
        }
    }

    private static Field field(String name) {
        try {
            Field field = Ruby.class.getDeclaredField(name);
            field.setAccessible(true);
            return field;
        } catch (NoSuchFieldException | RuntimeException e) {
            return null;
        }
    }
}
