import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;

/**
 * Who answers, for the Tomcat spec's webapp: the pid (the same across an
 * exec in place) and this JVM's start time (new after one). Java 8 has no
 * ProcessHandle, so the pid comes from /proc/self.
 */
final class TomcatJvm {
    private TomcatJvm() {
    }

    static String pid() {
        try {
            return new File("/proc/self").getCanonicalFile().getName();
        } catch (IOException e) {
            throw new IllegalStateException("no /proc/self", e);
        }
    }

    /** "PID START_MILLIS": START_MILLIS is RuntimeMXBean's start time, different for every JVM. */
    static String identity() {
        return pid() + " " + ManagementFactory.getRuntimeMXBean().getStartTime();
    }
}
