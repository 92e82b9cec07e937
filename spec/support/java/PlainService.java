import org.jrestart.JRestart;
import org.jrestart.LaunchOptions;
import org.jrestart.core.history.RestartRecord;
import org.jrestart.core.launch.Child;
import org.jrestart.core.posix.JRestartException;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * A plain Java service for spec/integration/java_facade_spec.rb: it listens on
 * 127.0.0.1:PORT (a JDK socket, not close-on-exec) and answers one line per
 * connection: "info" gives its pid and whether any JRuby class can be loaded,
 * "restart" calls JRestart.restart() with no command and a reason, "plan" and
 * "detect" print what the facade would do, "record" what JRestart.lastRestart()
 * says of the restart that started this JVM. Its restart hook (JRestart.onRestart)
 * appends "MECHANISM REASON" to the file HOOKS, and throws while HOOKS.veto exists.
 * With a third argument, a JVM shutdown hook writes the pid to that file.
 */
public final class PlainService {
    public static void main(String[] args) throws Exception {
        ServerSocket server = new ServerSocket(Integer.parseInt(args[0]), 50, InetAddress.getLoopbackAddress());
        String pid = new File("/proc/self").getCanonicalFile().getName();
        final Path hooks = Paths.get(args[1]);
        JRestart.onRestart(restart -> {
            Files.write(hooks, (restart.mechanism() + " " + restart.reason() + "\n").getBytes(StandardCharsets.UTF_8),
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            if (Files.exists(Paths.get(args[1] + ".veto"))) throw new IllegalStateException("the spec asked for a veto");
        });
        if (args.length > 2) hook(args[2], pid);
        while (true) {
            try (Socket client = server.accept();
                 BufferedReader in = new BufferedReader(new InputStreamReader(client.getInputStream(),
                         StandardCharsets.UTF_8));
                 PrintWriter out = new PrintWriter(client.getOutputStream(), true)) {
                String request = in.readLine();
                try {
                    if ("info".equals(request)) {
                        out.println(pid + " jruby=" + jrubyLoadable());
                    } else if ("restart".equals(request)) {
                        // The delay lets this answer reach the client before the manager stops the JVM.
                        Child child = JRestart.restart(new LaunchOptions().delay(1, TimeUnit.SECONDS)
                                .reason("asked by pid " + pid));
                        // null: it restarts in place (PID 1 of a container) once the delay is over.
                        out.println(child == null ? "restarting in place" : "restarting " + child.pid());
                    } else if ("plan".equals(request)) {
                        out.println(JRestart.plan().describe());
                    } else if ("record".equals(request)) {
                        RestartRecord record = JRestart.lastRestart();
                        out.println(record == null ? "none" : "previous=" + record.previousPid() + " reason="
                                + record.reason() + " mechanism=" + record.mechanism() + " command="
                                + String.join(" ", record.command()) + " elapsed=" + (record.elapsed() > 0));
                    } else if ("detect".equals(request)) {
                        out.println(JRestart.detect());
                    } else {
                        out.println("unknown request " + request);
                    }
                } catch (JRestartException e) {
                    out.println("error " + e.kind() + " errno=" + e.errno() + " command=" + e.command() + ": "
                            + e.getMessage());
                }
            }
        }
    }

    /** A JVM shutdown hook that writes pid to path: what the orderly stop must run before an exec in place. */
    private static void hook(final String path, final String pid) {
        Runtime.getRuntime().addShutdownHook(new Thread(new Runnable() {
            @Override
            public void run() {
                try {
                    Files.write(Paths.get(path), pid.getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }, "plain hook"));
    }

    private static boolean jrubyLoadable() {
        try {
            Class.forName("org.jruby.Ruby");
            return true;
        } catch (ClassNotFoundException expected) {
            return false;
        }
    }
}
