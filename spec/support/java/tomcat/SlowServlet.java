import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;

/** /slow: answers "slow done PID START_MILLIS" after 2 s, the request in flight during the restart. */
public final class SlowServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        try {
            Thread.sleep(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted before the answer", e);
        }
        response.setContentType("text/plain");
        response.getWriter().println("slow done " + TomcatJvm.identity());
    }
}
