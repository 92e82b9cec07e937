package org.jrestart.core.launch;

/** How the child is started. */
public enum Strategy {
    /** posix_spawn: no Java code in the child, a cost that does not grow with the heap. */
    SPAWN,
    /** fork() then execve(), as the original plugin did: see Forker for its hazards. */
    FORK,
    /** execve in place of this process, same pid: what reexec does. Not a way to launch. */
    EXEC,
    /**
     * This process's own program, started with posix_spawn beside it (its
     * session, cwd and listeners), which hands over once the new one is ready.
     */
    OVERLAP
}
