package org.jrestart.core.stop;

import org.jrestart.core.posix.Warnings;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;

/**
 * An orderly SIGTERM, once a restart command has been started: the manager
 * that command asks stops this JVM with SIGTERM, on which the JVM runs its
 * shutdown hooks but no JRuby runtime runs its at_exit handlers or flushes
 * its buffers (jruby/jruby#6887). The handler installed here runs those
 * first (OrderlyStop's runtime stops, bounded by the stop timeout), then
 * whatever handled SIGTERM before: the JVM's own (hooks, exit status 143),
 * or the application's trap. Never installed outside a restart, so the
 * host's signal handling stays as it was until it asks for one.
 *
 * sun.misc.Signal (jdk.unsupported on Java 9+, the same API on 8) is
 * reached by reflection: javac --release 8 does not offer it.
 */
public final class Termination {
    /** Process-wide: the handler is installed once, whichever class loader asks. */
    private static final String INSTALLED = "org.jrestart.termination";
    private static final int SIGTERM_STATUS = 128 + 15;
    /** What handled SIGTERM before install, to put back by uninstall; null while not installed from here. */
    private static Object previous;
    private static volatile boolean triggered;

    private Termination() {
    }

    /** Installs the handler (once per process); timeout bounds the runtimes' stop, in seconds. */
    public static void install(final double timeout) {
        if (System.getProperties().putIfAbsent(INSTALLED, "on") != null) return;
        try {
            final Api api = new Api();
            final Object[] before = new Object[1];
            Object orderly = Proxy.newProxyInstance(Termination.class.getClassLoader(), new Class<?>[] {api.handler},
                    new InvocationHandler() {
                        @Override
                        public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
                            if (method.getName().equals("handle")) {
                                handle(api, before[0], args[0], timeout);
                                return null;
                            }
                            if (method.getName().equals("equals")) return proxy == args[0];
                            if (method.getName().equals("hashCode")) return System.identityHashCode(proxy);
                            return "jrestart's orderly SIGTERM";
                        }
                    });
            before[0] = api.handle.invoke(null, api.term(), orderly);
            synchronized (Termination.class) {
                previous = before[0];
            }
            // A host that ignores SIGTERM keeps ignoring it.
            if (before[0] == api.ignore) uninstall();
        } catch (ReflectiveOperationException | RuntimeException e) {
            Throwable cause = e instanceof InvocationTargetException ? e.getCause() : e;
            Warnings.warn("SIGTERM cannot be handled here (" + cause + "): the manager's stop will not run"
                    + " at_exit handlers");
        }
    }

    /** The runtimes' stop, then the handler that was there before (the JVM's own: hooks, status 143). */
    private static void handle(Api api, Object before, Object signal, double timeout) throws Throwable {
        triggered = true;
        List<String> running = OrderlyStop.stopRuntimes(OrderlyStop.deadline(timeout));
        if (!running.isEmpty()) {
            Warnings.warn("SIGTERM: the stop timeout (" + timeout + " s) passed with " + String.join(", ", running)
                    + " still running");
        }
        // A native default (java -Xrs) would end the process at once, without the hooks.
        if (before == null || before == api.fallback || before == api.ignore) {
            Runtime.getRuntime().exit(SIGTERM_STATUS);
            return;
        }
        try {
            api.handlerHandle.invoke(before, signal);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** Puts back what handled SIGTERM before install (the restart command never started), unless it came already. */
    public static void uninstall() {
        Object handler;
        synchronized (Termination.class) {
            handler = previous;
            previous = null;
        }
        if (handler == null || triggered) return;
        try {
            Api api = new Api();
            api.handle.invoke(null, api.term(), handler);
            System.getProperties().remove(INSTALLED);
        } catch (ReflectiveOperationException | RuntimeException e) {
            Warnings.warn("SIGTERM's handler cannot be put back: " + e);
        }
    }

    /** sun.misc.Signal and SignalHandler, by reflection. */
    private static final class Api {
        final Class<?> signal = Class.forName("sun.misc.Signal");
        final Class<?> handler = Class.forName("sun.misc.SignalHandler");
        final Method handle = signal.getMethod("handle", signal, handler);
        final Method handlerHandle = handler.getMethod("handle", signal);
        final Object fallback = handler.getField("SIG_DFL").get(null);
        final Object ignore = handler.getField("SIG_IGN").get(null);

        Api() throws ReflectiveOperationException {
        }

        Object term() throws ReflectiveOperationException {
            return signal.getConstructor(String.class).newInstance("TERM");
        }
    }
}
