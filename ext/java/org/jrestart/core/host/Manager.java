package org.jrestart.core.host;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A service manager found running this process: its name (systemd,
 * supervisord, runit, daemontools, s6), the service as it knows it (a unit,
 * GROUP:NAME, a service directory), the argv that restarts the service
 * through it (empty for a container: it restarts in place), and the evidence
 * it was recognised by.
 */
public final class Manager {
    public final String name;
    public final String service;
    public final List<String> command;
    public final List<String> evidence;

    public Manager(String name, String service, List<String> command, List<String> evidence) {
        this.name = name;
        this.service = service;
        this.command = Collections.unmodifiableList(new ArrayList<String>(command));
        this.evidence = Collections.unmodifiableList(new ArrayList<String>(evidence));
    }

    @Override
    public String toString() {
        String how = command.isEmpty() ? "restart in place" : String.join(" ", command);
        return name + " service " + service + ": " + how + " (" + String.join("; ", evidence) + ")";
    }
}
