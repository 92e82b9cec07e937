package org.jrestart.core.host;

import org.jrestart.core.posix.Proc;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Finds the service manager that runs a process, reading only /proc and the
 * environment: it never starts a process. The nearest supervisor in the
 * process tree, up to the process's own session (serviceAncestors), wins over
 * systemd's cgroup, because a runsv or supervisord may itself run inside a
 * systemd unit, and restarting that unit would restart every service it holds.
 */
public final class Detect {
    private static final List<String> SUPERVISOR_ENV = Arrays.asList(
            "SUPERVISOR_ENABLED", "SUPERVISOR_PROCESS_NAME", "SUPERVISOR_GROUP_NAME", "SUPERVISOR_SERVER_URL");
    private static final int MAX_ANCESTORS = 64;
    private static final int PARENT = 0;
    private static final int SESSION = 1;
    private static final Pattern USER_MANAGER = Pattern.compile("user@\\d+\\.service");
    // The small inits containers run as PID 1 in front of the service.
    private static final List<String> CONTAINER_INITS = Arrays.asList("tini", "dumb-init", "catatonit", "docker-init");
    private static final Pattern CONTAINER_CGROUP = Pattern.compile("docker|kubepods|libpod");
    /** Manager.name of a container, which restart! restarts in place. */
    public static final String CONTAINER = "container";

    /** One process above the one detection started from. */
    public static final class Ancestor {
        public final int pid;
        public final String comm;

        public Ancestor(int pid, String comm) {
            this.pid = pid;
            this.comm = comm;
        }
    }

    private Detect() {
    }

    /** The manager running process pid (with environment env), or null. */
    public static Manager detect(int pid, Map<String, String> env) {
        List<Ancestor> ancestors = serviceAncestors(pid);
        Manager found = supervised(ancestors);
        if (found == null) found = supervisord(ancestors, env);
        String cgroup = Proc.read("/proc/" + pid + "/cgroup");
        if (found == null) found = container(pid, cgroup);
        if (found == null) found = systemd(cgroup, env);
        return found;
    }

    /**
     * A container whose life is this process's: it is PID 1 of its pid
     * namespace, or its parent is and is a container init (tini, dumb-init,
     * catatonit, docker-init). When that PID 1 exits the kernel kills every
     * process in the namespace, so nothing started from here outlives it; the
     * service restarts in place. /.dockerenv, /run/.containerenv and a
     * docker, kubepods or libpod cgroup are kept as supporting evidence.
     */
    public static Manager container(int pid, String cgroup) {
        List<String> evidence = new ArrayList<String>();
        if (pid == 1) {
            evidence.add("this process is PID 1 of its pid namespace");
        } else if (stat(pid)[PARENT] == 1) {
            String init = Proc.read("/proc/1/comm");
            init = init == null ? "" : init.trim();
            if (!CONTAINER_INITS.contains(init)) return null;
            evidence.add("its parent, PID 1 of its pid namespace, is " + init);
        } else {
            return null;
        }
        for (String marker : Arrays.asList("/.dockerenv", "/run/.containerenv")) {
            if (new File(marker).exists()) evidence.add(marker + " exists");
        }
        for (String line : lines(cgroup)) {
            if (CONTAINER_CGROUP.matcher(line).find()) evidence.add("cgroup " + line);
        }
        return new Manager(CONTAINER, "pid " + pid, new ArrayList<String>(), evidence);
    }

    /** The parents of pid, nearest first, up to but not including pid 1. */
    public static List<Ancestor> ancestors(int pid) {
        return ancestors(pid, false);
    }

    /**
     * The ancestors that can be pid's supervisor: those in pid's session, then
     * the one that started that session (its leader's parent), where the walk
     * stops. runsv and supervise run their run script in their own session, and
     * s6-supervise and supervisord's programs' sessions are started by them, so
     * the service's JVM always meets its supervisor on this walk; a JVM that
     * made a session of its own below a supervised cron or sshd (setsid java &)
     * meets cron or sshd, not the supervisor, whose restart would restart them.
     */
    public static List<Ancestor> serviceAncestors(int pid) {
        return ancestors(pid, true);
    }

    private static List<Ancestor> ancestors(int pid, boolean withinSession) {
        int[] stat = stat(pid);
        int session = stat[SESSION];
        List<Ancestor> chain = new ArrayList<Ancestor>();
        for (int i = 0; i < MAX_ANCESTORS; i++) {
            pid = stat[PARENT];
            if (pid <= 1) break;
            String comm = Proc.read("/proc/" + pid + "/comm");
            chain.add(new Ancestor(pid, comm == null ? "" : comm.trim()));
            stat = stat(pid);
            if (withinSession && stat[SESSION] != session) break;
        }
        return chain;
    }

    /**
     * runit, daemontools and s6 run one supervisor per service, whose cwd is
     * the service directory: the nearest such ancestor.
     */
    public static Manager supervised(List<Ancestor> ancestors) {
        for (Ancestor ancestor : ancestors) {
            String name;
            List<String> restart;
            switch (ancestor.comm) {
                case "runsv": name = "runit"; restart = Arrays.asList("sv", "restart"); break;
                case "supervise": name = "daemontools"; restart = Arrays.asList("svc", "-t"); break;
                case "s6-supervise": name = "s6"; restart = Arrays.asList("s6-svc", "-r"); break;
                default: continue;
            }
            String dir;
            try {
                dir = Files.readSymbolicLink(Paths.get("/proc/" + ancestor.pid + "/cwd")).toString();
            } catch (IOException | SecurityException e) {
                return null; // not our user's supervisor: its directory, and so its service, is unknown
            }
            List<String> command = new ArrayList<String>(restart);
            command.add(dir);
            return new Manager(name, dir, command, Arrays.asList(
                    "ancestor " + ancestor.comm + " (pid " + ancestor.pid + ")", "its cwd " + dir));
        }
        return null;
    }

    /**
     * supervisord, from the four variables it sets for its programs and
     * supervisord among ancestors: the variables alone are inherited by
     * everything a program starts, its own sessions too.
     */
    public static Manager supervisord(List<Ancestor> ancestors, Map<String, String> env) {
        List<String> evidence = new ArrayList<String>();
        for (String name : SUPERVISOR_ENV) {
            if (env.get(name) == null) return null;
            evidence.add(name + "=" + env.get(name));
        }
        String service = env.get("SUPERVISOR_GROUP_NAME") + ":" + env.get("SUPERVISOR_PROCESS_NAME");
        Ancestor supervisord = null;
        for (Ancestor ancestor : ancestors) {
            if (ancestor.comm.equals("supervisord")) {
                supervisord = ancestor;
                break;
            }
        }
        if (supervisord == null) return null;
        evidence.add("ancestor supervisord (pid " + supervisord.pid + ")");
        return new Manager("supervisord", service, Arrays.asList(
                "supervisorctl", "-s", env.get("SUPERVISOR_SERVER_URL"), "restart", service), evidence);
    }

    /**
     * The unit from the contents of /proc/PID/cgroup: cgroup v2's "0::PATH",
     * or v1's "N:name=systemd:PATH". Processes in a session or another scope
     * were started by hand, not by a unit: null.
     */
    public static Manager systemd(String cgroup, Map<String, String> env) {
        String path = null;
        for (String line : lines(cgroup)) {
            String[] fields = line.split(":", 3);
            if (fields.length == 3 && (fields[1].isEmpty() || fields[1].equals("name=systemd"))
                    && fields[2].contains(".service")) {
                path = fields[2];
                break;
            }
        }
        if (path == null) return null;
        List<String> parts = new ArrayList<String>();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) parts.add(part);
        }
        int userManager = -1;
        for (int i = 0; i < parts.size() && userManager < 0; i++) {
            if (USER_MANAGER.matcher(parts.get(i)).matches()) userManager = i;
        }
        // Under a user manager, the unit is one of its own: below it in the tree.
        int unit = -1;
        for (int i = userManager + 1; i < parts.size() && unit < 0; i++) {
            if (parts.get(i).endsWith(".service")) unit = i;
        }
        if (unit < 0) return null;
        String name = parts.get(unit);
        List<String> command = new ArrayList<String>(Arrays.asList("systemctl", "--no-block", "restart", name));
        if (userManager >= 0) command.add(1, "--user");
        List<String> evidence = new ArrayList<String>();
        evidence.add("cgroup " + path);
        for (String variable : Arrays.asList("INVOCATION_ID", "NOTIFY_SOCKET")) {
            if (env.get(variable) != null) evidence.add(variable + "=" + env.get(variable));
        }
        return new Manager("systemd", name, command, evidence);
    }

    /** What detection looked at, for an error that says why it found nothing. */
    public static String explain(int pid, Map<String, String> env) {
        List<String> chain = new ArrayList<String>();
        for (Ancestor ancestor : ancestors(pid)) chain.add(ancestor.comm + " " + ancestor.pid);
        List<Ancestor> service = serviceAncestors(pid);
        String boundary = service.size() < chain.size()
                ? " (a supervisor counts up to " + service.get(service.size() - 1).comm + " "
                + service.get(service.size() - 1).pid + ", which started this process's session)" : "";
        List<String> cgroup = new ArrayList<String>();
        for (String line : lines(Proc.read("/proc/" + pid + "/cgroup"))) {
            if (line.startsWith("0::") || line.contains("name=systemd:")) cgroup.add(line);
        }
        List<String> supervisor = new ArrayList<String>();
        for (String name : SUPERVISOR_ENV) {
            if (env.get(name) != null) supervisor.add(name);
        }
        return "ancestors: " + (chain.isEmpty() ? "none" : String.join(" <- ", chain)) + boundary + "; /proc/" + pid
                + "/cgroup: " + (cgroup.isEmpty() ? "no systemd line" : String.join(", ", cgroup)) + "; "
                + (supervisor.isEmpty() ? "no SUPERVISOR_* variables"
                        : "only " + String.join(", ", supervisor) + " of the SUPERVISOR_* variables");
    }

    /**
     * The parent pid and the session id (at PARENT, SESSION) from one read of
     * /proc/PID/stat, after the parenthesised comm, which may hold spaces;
     * 0 where unknown.
     */
    private static int[] stat(int pid) {
        // After the comm: state, ppid, pgrp, session.
        String[] fields = Proc.statFields(String.valueOf(pid));
        int[] values = new int[2];
        values[PARENT] = Math.max(0, Proc.number(fields, 1));
        values[SESSION] = Math.max(0, Proc.number(fields, 3));
        return values;
    }

    private static List<String> lines(String text) {
        List<String> lines = new ArrayList<String>();
        if (text == null) return lines;
        for (String line : text.split("\n")) {
            if (!line.isEmpty()) lines.add(line);
        }
        return lines;
    }
}
