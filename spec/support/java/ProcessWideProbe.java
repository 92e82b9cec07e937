import org.jruby.embed.LocalContextScope;
import org.jruby.embed.ScriptingContainer;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.nio.channels.ServerSocketChannel;
import java.util.Arrays;
import java.util.Collections;
import java.util.concurrent.TimeUnit;

/**
 * For spec/integration/process_wide_spec.rb: one JVM holding two JRuby
 * runtimes (ScriptingContainer, each loading jrestart.jar through its own
 * class loader, as jruby-rack's pools do) and the Java facade loaded by a
 * class loader of its own, as a host loads a plugin. Class path: JRuby only.
 *
 *   once LIB JAR MARKER      each runtime, then the facade, restarts with a
 *                            command that appends a line to MARKER
 *   test-mode LIB JAR MARKER runtime 1 turns JRestart::Testing on; the facade
 *                            and runtime 2 then restart with that command
 *   hooks LIB JAR MARKER     each runtime, then the facade, registers a restart
 *                            hook that appends "hook N MECHANISM" to MARKER;
 *                            runtime 2 restarts with that command
 *   nulls JAR                the facade, given null arguments
 *
 * Prints one line per step.
 */
public final class ProcessWideProbe {
    private static final String[] COMMAND = {"/bin/sh", "-c", "echo started >> \"$MARKER\""};

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "once": once(args[1], args[2]); break;
            case "test-mode": testMode(args[1], args[2]); break;
            case "hooks": hooks(args[1], args[2]); break;
            default: nulls(args[1]);
        }
    }

    private static void once(String lib, String jar) throws Exception {
        ScriptingContainer first = runtime(lib, 1);
        ScriptingContainer second = runtime(lib, 2);
        ClassLoader facade = facade(jar, 3);
        say("runtime 1: " + first.runScriptlet(restart()));
        say("runtime 2: " + second.runScriptlet(restart()));
        say("facade: " + call(facade, "restart", new Class<?>[] {String[].class}, (Object) COMMAND));
        // The commands are detached: give one that was started the time to write its line.
        TimeUnit.SECONDS.sleep(2);
        first.terminate();
        second.terminate();
    }

    private static void hooks(String lib, String jar) throws Exception {
        ScriptingContainer first = runtime(lib, 1);
        ScriptingContainer second = runtime(lib, 2);
        ClassLoader facade = facade(jar, 3);
        for (int n = 1; n <= 2; n++) {
            (n == 1 ? first : second).runScriptlet("JRestart.on_restart { |r| File.open(ENV['MARKER'], 'a') { |f|"
                    + " f.puts \"hook " + n + " #{r.mechanism}\" } }");
        }
        // The facade's RestartHook, implemented here although that loader's interface is not this class's.
        final Class<?> hook = facade.loadClass("org.jrestart.RestartHook");
        Object proxy = Proxy.newProxyInstance(facade, new Class<?>[] {hook}, (self, method, arguments) -> {
            if (!method.getName().equals("beforeRestart")) return method.invoke(self, arguments);
            Object mechanism = arguments[0].getClass().getMethod("mechanism").invoke(arguments[0]);
            Files.write(Paths.get(System.getenv("MARKER")), ("hook 3 " + mechanism + "\n").getBytes("UTF-8"),
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            return null;
        });
        say("facade onRestart: " + call(facade, "onRestart", new Class<?>[] {hook}, proxy));
        say("runtime 1 restart_hooks: " + first.runScriptlet("JRestart.restart_hooks.map(&:location).join(' | ')"));
        say("runtime 2: " + second.runScriptlet(restart()));
        TimeUnit.SECONDS.sleep(2);
        first.terminate();
        say("runtime 2 restart_hooks after runtime 1 ended: "
                + second.runScriptlet("JRestart.restart_hooks.size"));
        second.terminate();
    }

    private static void testMode(String lib, String jar) throws Exception {
        ScriptingContainer first = runtime(lib, 1);
        ScriptingContainer second = runtime(lib, 2);
        ClassLoader facade = facade(jar, 3);
        say("runtime 1: " + first.runScriptlet("require 'jrestart/testing'; JRestart::Testing.enable!; 'test mode on'"));
        say("facade testMode: " + call(facade, "testMode", new Class<?>[0]));
        say("facade: " + call(facade, "restart", new Class<?>[] {String[].class}, (Object) COMMAND));
        say("facade testRequests: " + call(facade, "testRequests", new Class<?>[0]).replace('\n', ' '));
        say("runtime 2: " + second.runScriptlet(restart()));
        say("runtime 1: " + first.runScriptlet("JRestart::Testing.disable!; 'test mode off'"));
        // A Java host turns it on for its own tests.
        call(facade, "setTestMode", new Class<?>[] {boolean.class}, true);
        say("runtime 2 after setTestMode: " + second.runScriptlet(restart()));
        TimeUnit.SECONDS.sleep(2);
        first.terminate();
        second.terminate();
    }

    private static void nulls(String jar) throws Exception {
        ClassLoader facade = facade(jar, 1);
        Class<?> options = facade.loadClass("org.jrestart.LaunchOptions");
        Class<?> paths = Class.forName("java.nio.file.Path");
        say("plan(options, null): " + call(facade, "plan", new Class<?>[] {options, String[].class},
                options.newInstance(), null));
        say("restart(options, null): " + call(facade, "restart", new Class<?>[] {options, String[].class},
                options.newInstance(), null));
        say("launch(options, /bin/true, null): " + call(facade, "launch",
                new Class<?>[] {options, String.class, String[].class}, options.newInstance(), "/bin/true", null));
        say("notify(null): " + call(facade, "notify", new Class<?>[] {String.class}, (Object) null));
        say("setCommand(x) then setCommand(null): "
                + call(facade, "setCommand", new Class<?>[] {String[].class}, (Object) new String[] {"/bin/true"})
                + " " + call(facade, "setCommand", new Class<?>[] {String[].class}, (Object) null)
                + " command()=" + call(facade, "command", new Class<?>[0]));
        Object[][] setters = {
            {"chdir", new Class<?>[] {paths}, new Object[] {null}},
            {"log", new Class<?>[] {paths}, new Object[] {null}},
            {"delay", new Class<?>[] {long.class, TimeUnit.class}, new Object[] {1L, null}},
            {"env", new Class<?>[] {String.class, String.class}, new Object[] {null, "x"}},
            {"env", new Class<?>[] {String.class, String.class}, new Object[] {"X", null}},
            {"unsetenv", new Class<?>[] {String.class}, new Object[] {null}},
            {"keep", new Class<?>[] {int[].class}, new Object[] {null}},
            {"listeners", new Class<?>[] {ServerSocketChannel[].class}, new Object[] {null}},
            {"inheritedChannel", new Class<?>[] {ServerSocketChannel.class}, new Object[] {null}},
            {"stopTimeout", new Class<?>[] {long.class, TimeUnit.class}, new Object[] {1L, null}},
        };
        for (Object[] setter : setters) {
            Object built = options.newInstance();
            String name = (String) setter[0];
            String how;
            try {
                built = options.getMethod(name, (Class<?>[]) setter[1]).invoke(built, (Object[]) setter[2]);
                how = "plan: " + call(facade, "plan", new Class<?>[] {options, String[].class}, built,
                        new String[] {"/bin/true"});
            } catch (InvocationTargetException e) {
                how = "the setter threw " + e.getCause();
            }
            say("LaunchOptions." + name + Arrays.toString((Object[]) setter[2]) + ": " + how);
        }
    }

    private static String restart() {
        return "begin\n"
                + "  JRestart.restart!(*" + rubyArray() + ")\n"
                + "  'started'\n"
                + "rescue StandardError, NotImplementedError => e\n"
                + "  \"#{e.class}: #{e.message}\"\n"
                + "end";
    }

    private static String rubyArray() {
        StringBuilder text = new StringBuilder("[");
        for (String word : COMMAND) text.append('\'').append(word.replace("'", "\\'")).append("', ");
        return text.append(']').toString();
    }

    /** A JRuby runtime of its own, which loads jrestart.jar through its own class loader. */
    private static ScriptingContainer runtime(String lib, int n) throws Exception {
        ScriptingContainer ruby = new ScriptingContainer(LocalContextScope.SINGLETHREAD);
        ruby.setLoadPaths(Collections.singletonList(lib));
        ruby.runScriptlet("require 'jrestart'");
        ClassLoader loader = ruby.getProvider().getRuntime().getJRubyClassLoader();
        say("loader " + n + ": " + identity(Class.forName("org.jrestart.core.Plan", false, loader).getClassLoader()));
        return ruby;
    }

    /** The facade, loaded as a host loads a plugin: jrestart.jar in a class loader of its own. */
    private static ClassLoader facade(String jar, int n) throws Exception {
        ClassLoader loader = new URLClassLoader(new URL[] {new File(jar).toURI().toURL()},
                ProcessWideProbe.class.getClassLoader());
        say("loader " + n + ": " + identity(loader.loadClass("org.jrestart.core.Plan").getClassLoader()));
        return loader;
    }

    /** A static method of org.jrestart.JRestart; what it threw, as KIND message or the exception. */
    private static String call(ClassLoader loader, String name, Class<?>[] types, Object... args) throws Exception {
        Method method = loader.loadClass("org.jrestart.JRestart").getMethod(name, types);
        try {
            return String.valueOf(method.invoke(null, args));
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause.getClass().getName().equals("org.jrestart.core.posix.JRestartException")) {
                return "JRestartException " + cause.getClass().getMethod("kind").invoke(cause) + ": "
                        + cause.getMessage();
            }
            return cause.toString();
        }
    }

    private static String identity(ClassLoader loader) {
        return loader.getClass().getName() + "@" + Integer.toHexString(System.identityHashCode(loader));
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
