package org.jrestart.core.launch;

import org.jrestart.core.posix.JRestartException;

/**
 * Told by Reexec just before its execve, and again when the execve failed and
 * the process goes on: what the layers above must say around an exec in place
 * (a Type=notify unit is told that the service reloads) stays theirs.
 */
public interface ExecListener {
    /** The exec is about to happen: nothing can refuse it any more but execve itself. */
    void beforeExec() throws JRestartException;

    /** The execve failed; everything Reexec changed has been undone. */
    void execFailed() throws JRestartException;
}
