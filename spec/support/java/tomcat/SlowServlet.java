import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;

/**
 * /slow: the request in flight during the restart. Sends "slow started" at
 * once (so the client knows the servlet has it), then after 2 s
 * "slow done PID START_MILLIS".
 */
public final class SlowServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        response.setContentType("text/plain");
        response.getWriter().println("slow started");
        response.flushBuffer();
        try {
            Thread.sleep(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted before the answer", e);
        }
        response.getWriter().println("slow done " + TomcatJvm.identity());
    }
}
