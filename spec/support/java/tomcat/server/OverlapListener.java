import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.LifecycleEvent;
import org.apache.catalina.LifecycleListener;
import org.apache.catalina.Server;
import org.apache.catalina.Service;
import org.apache.catalina.connector.Connector;
import org.apache.coyote.ProtocolHandler;
import org.jrestart.JRestart;
import org.jrestart.Restart;

import java.io.FileWriter;
import java.io.IOException;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.channels.Channel;

/**
 * What a Tomcat needs for an overlap restart, as a {@code <Listener>} of the
 * {@code <Server>} (compiled into CATALINA_BASE/lib, with jrestart's jar on
 * Tomcat's common class path beside jruby-complete, so that the webapp's
 * JRuby and this listener share one jrestart):
 * <ul>
 * <li>after_start (every connector accepts): {@code JRestart.ready()}. In a
 * Tomcat an overlap restart started, the old Tomcat hands over; on a first
 * start under a Type=notify unit, systemd gets READY=1.</li>
 * <li>a restart hook, run by the old Tomcat once the new one is ready: its
 * acceptor stops taking connections from the shared listener without taking
 * one more. Tomcat's own stop (pause) would wake its acceptor, blocked in
 * accept(), with a connection of its own to the listener, which the new
 * Tomcat may take instead; the old acceptor would then take a client's next
 * connection and close it unanswered. So the hook marks the acceptor stopped
 * and closes this JVM's copy of the inherited channel (the listener stays open
 * in the new JVM): accept() returns with AsynchronousCloseException, the
 * acceptor ends quietly. The JDK points fds 0 to 2 at /dev/null when it
 * closes an inherited channel: stdout and stderr are saved and put back.</li>
 * <li>before_init with TOMCAT_FAIL=1 in the environment: a Tomcat whose
 * configuration is broken, exiting 3 before it serves.</li>
 * </ul>
 * Each step appends a line to $TOMCAT_MARKER ("ready told=BOOLEAN" with the
 * time ready() was called, "hook OVERLAP", "failing").
 */
public final class OverlapListener implements LifecycleListener {
    @Override
    public void lifecycleEvent(LifecycleEvent event) {
        if (Lifecycle.BEFORE_INIT_EVENT.equals(event.getType()) && "1".equals(System.getenv("TOMCAT_FAIL"))) {
            System.out.println("overlap Tomcat " + pid() + ": stdout before failing");
            System.err.println("overlap Tomcat " + pid() + ": the configuration is broken (TOMCAT_FAIL=1)");
            mark("failing");
            System.exit(3);
        }
        if (!Lifecycle.AFTER_START_EVENT.equals(event.getType())) return;
        Server server = (Server) event.getLifecycle();
        try {
            JRestart.onRestart((Restart restart) -> stopAccepting(server, restart));
            long calling = System.currentTimeMillis();
            boolean told = JRestart.ready();
            // The time of the call: the old Tomcat may run its hook before ready() returns here.
            mark("ready told=" + told, calling);
        } catch (Exception e) {
            throw new IllegalStateException("jrestart: " + e, e);
        }
    }

    private static void stopAccepting(Server server, Restart restart) throws Exception {
        for (Service service : server.findServices()) {
            for (Connector connector : service.findConnectors()) {
                ProtocolHandler handler = connector.getProtocolHandler();
                Method getEndpoint = org.apache.coyote.AbstractProtocol.class.getDeclaredMethod("getEndpoint");
                getEndpoint.setAccessible(true);
                Object endpoint = getEndpoint.invoke(handler);
                Field field = org.apache.tomcat.util.net.AbstractEndpoint.class.getDeclaredField("acceptor");
                field.setAccessible(true);
                org.apache.tomcat.util.net.Acceptor<?> acceptor = (org.apache.tomcat.util.net.Acceptor<?>) field.get(endpoint);
                if (acceptor == null) continue;
                // Not acceptor.stop first: a connection accept() returns after stopCalled is set is destroyed
                // unanswered (a client's reset, 1 in 473 requests in one run). With running false, the accept()
                // the close below interrupts just ends the acceptor, and one accepted before it is served.
                // (An accept() that fails while the endpoint runs is logged as SEVERE "Socket accept failed".)
                // Only for the close: Tomcat's stop needs it true.
                Field running = org.apache.tomcat.util.net.AbstractEndpoint.class.getDeclaredField("running");
                running.setAccessible(true);
                running.setBoolean(endpoint, false);
                try {
                    closeInherited();
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (acceptor.getState() != org.apache.tomcat.util.net.Acceptor.AcceptorState.ENDED
                            && System.nanoTime() < deadline) {
                        Thread.sleep(5);
                    }
                } finally {
                    running.setBoolean(endpoint, true);
                }
            }
        }
        closeInherited();
        mark("hook " + restart.mechanism());
    }

    /** Closes this JVM's inherited channel (once), keeping stdout and stderr. */
    private static synchronized void closeInherited() throws IOException {
        Channel inherited = System.inheritedChannel();
        if (inherited == null || !inherited.isOpen()) return;
        POSIX posix = POSIXFactory.getNativePOSIX();
        int out = posix.dup(1);
        int err = posix.dup(2);
        try {
            inherited.close();
        } finally {
            posix.dup2(out, 1);
            posix.dup2(err, 2);
            posix.close(out);
            posix.close(err);
        }
    }

    private static String pid() {
        return ManagementFactory.getRuntimeMXBean().getName().split("@")[0];
    }

    private static void mark(String what) {
        mark(what, System.currentTimeMillis());
    }

    /** "WHAT PID START_MILLIS TIME_MILLIS" appended to $TOMCAT_MARKER. */
    private static void mark(String what, long millis) {
        try (Writer out = new FileWriter(System.getenv("TOMCAT_MARKER"), true)) {
            out.write(what + " " + pid() + " " + ManagementFactory.getRuntimeMXBean().getStartTime() + " "
                    + millis + "\n");
        } catch (IOException e) {
            System.err.println("could not write the marker: " + e);
        }
    }
}
