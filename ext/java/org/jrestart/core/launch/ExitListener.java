package org.jrestart.core.launch;

/** Told the wait status of a command that ended while the launch layer watched it. */
public interface ExitListener {
    void exited(int waitStatus);
}
