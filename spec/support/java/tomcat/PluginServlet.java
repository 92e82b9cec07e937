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
 *
 * ?overlap=1: restart!(overlap: true, inherited_channel: 0) instead, on a
 * Ruby thread of its own (it returns only by raising: once the new Tomcat
 * is ready this JVM stops and exits), answering "restarting" at once; what
 * it raises goes to stderr. ?overlap=now: the same on this request's
 * thread, answering "raised CLASS: MESSAGE" when it raises. &fail=1 gives
 * the new Tomcat TOMCAT_FAIL=1 (restart!'s env:), which OverlapListener
 * turns into an exit before it is ready.
 */
public final class PluginServlet extends HttpServlet {
    private static final String RESTART = "JRestart.restart!(delay: 1%s)\n'restarting'\n";

    private static final String OVERLAP = "JRestart.restart!(overlap: true, inherited_channel: 0%s)";
    private static final String IN_THREAD = "Thread.new do\n  %s\nrescue Exception => e\n"
            + "  warn \"overlap restart raised #{e.class}: #{e.message}\"\nend\n'restarting'\n";
    private static final String NOW = "begin\n  %s\n  'returned'\nrescue Exception => e\n"
            + "  \"raised #{e.class}: #{e.message}\"\nend\n";

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
        String overlap = request.getParameter("overlap");
        String script = String.format(RESTART, channel);
        if (overlap != null) {
            String restart = String.format(OVERLAP,
                    "1".equals(request.getParameter("fail")) ? ", env: { 'TOMCAT_FAIL' => '1' }" : "");
            script = String.format("now".equals(overlap) ? NOW : IN_THREAD, restart);
        }
        response.setContentType("text/plain");
        try {
            Object answer = ruby.runScriptlet(script);
            response.getWriter().println(answer);
        } catch (RuntimeException e) { // EvalFailedException and friends carry the Ruby error
            response.setStatus(500);
            response.getWriter().println(e.getCause() != null ? e.getCause() : e);
        }
    }

    @Override
    public void destroy() {
        // A plugin tears its runtime down when Tomcat stops it: the exec in place must survive that, and so must
        // the old JVM of an overlap restart, whose restart! still waits on a thread of this runtime.
        ruby.terminate();
    }
}
