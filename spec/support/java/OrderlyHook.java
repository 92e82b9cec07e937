import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

/**
 * JVM shutdown hooks written in plain Java, for the orderly stop specs
 * (spec/support/orderly_service.rb): one writes a marker file, one sleeps
 * before it writes one (a hook the stop timeout cuts short), one throws,
 * one calls System.exit from inside the shutdown.
 */
public final class OrderlyHook {
    private OrderlyHook() {
    }

    /** A hook that writes text to path. */
    public static void marker(final String path, final String text) {
        add("java marker hook", 0, path, text, false, false);
    }

    /** A hook named name that sleeps millis, then writes text to path. */
    public static void slow(String name, long millis, String path, String text) {
        add(name, millis, path, text, false, false);
    }

    /** A hook that throws once it has written text to path. */
    public static void throwing(String path, String text) {
        add("throwing hook", 0, path, text, true, false);
    }

    /** A hook that calls System.exit(3) once it has written text to path. */
    public static void exiting(String path, String text) {
        add("exiting hook", 0, path, text, false, true);
    }

    private static void add(String name, final long millis, final String path, final String text,
                            final boolean fail, final boolean exit) {
        Runtime.getRuntime().addShutdownHook(new Thread(new Runnable() {
            @Override
            public void run() {
                try {
                    if (millis > 0) Thread.sleep(millis);
                    Files.write(Paths.get(path), text.getBytes(StandardCharsets.UTF_8));
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                if (fail) throw new IllegalStateException("a shutdown hook that fails");
                if (exit) System.exit(3);
            }
        }, name));
    }
}
