import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;

import java.io.FileWriter;
import java.io.IOException;
import java.io.Writer;

/**
 * Appends "destroyed PID START_MILLIS TIME_MILLIS" to $TOMCAT_MARKER when
 * Tomcat stops the webapp: the proof that Tomcat's own stop (its JVM shutdown
 * hook) ran before the exec in place.
 */
public final class MarkerListener implements ServletContextListener {
    @Override
    public void contextInitialized(ServletContextEvent event) {
        // Nothing to start: only the stop is observed.
    }

    @Override
    public void contextDestroyed(ServletContextEvent event) {
        try (Writer out = new FileWriter(System.getenv("TOMCAT_MARKER"), true)) {
            out.write("destroyed " + TomcatJvm.identity() + " " + System.currentTimeMillis() + "\n");
        } catch (IOException e) {
            event.getServletContext().log("could not write the marker", e);
        }
    }
}
