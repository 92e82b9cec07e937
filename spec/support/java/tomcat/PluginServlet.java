import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.jruby.embed.LocalContextScope;
import org.jruby.embed.ScriptingContainer;

import java.io.IOException;
import java.util.Collections;

/**
 * /plugin/restart: a plugin page that restarts its Tomcat the way a JRuby
 * plugin would, through JRuby embedded in the webapp (ScriptingContainer,
 * jruby-complete from CATALINA_BASE/lib, jrestart's lib/ from
 * $JRESTART_LIB on the load path). Tomcat is PID 1 of its pid namespace, so
 * restart! chooses the exec in place; inherited_channel: 0 puts Tomcat's
 * listener (its fd 0) on fd 0 of the new JVM, where the connector's
 * useInheritedChannel finds it. delay: lets this page answer before the
 * stop begins. ?channel=none leaves inherited_channel: out (the control).
 * Answers what the Ruby code returns, or the error it raised with status 500.
 */
public final class PluginServlet extends HttpServlet {
    private static final String RESTART = "JRestart.restart!(delay: 1%s)\n'restarting'\n";

    private ScriptingContainer ruby;

    @Override
    public void init() throws ServletException {
        ruby = new ScriptingContainer(LocalContextScope.SINGLETHREAD);
        ruby.setLoadPaths(Collections.singletonList(System.getenv("JRESTART_LIB")));
        // Loaded with the webapp, as a plugin would: the restart request then finds JRuby booted.
        ruby.runScriptlet("require 'jrestart'");
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String channel = "none".equals(request.getParameter("channel")) ? "" : ", inherited_channel: 0";
        response.setContentType("text/plain");
        try {
            Object answer = ruby.runScriptlet(String.format(RESTART, channel));
            response.getWriter().println(answer);
        } catch (RuntimeException e) { // EvalFailedException and friends carry the Ruby error
            response.setStatus(500);
            response.getWriter().println(e.getCause() != null ? e.getCause() : e);
        }
    }

    @Override
    public void destroy() {
        // A plugin tears its runtime down when Tomcat stops it: the exec in place must survive that.
        ruby.terminate();
    }
}
