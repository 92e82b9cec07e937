package org.jrestart.core.launch;

/** Which of the parent's descriptors the child must not inherit. */
public enum CloseMode {
    /** Every descriptor above 2 that is not explicitly kept. */
    ALL,
    /** Only sockets: the original plugin's behaviour, for commands that expect other descriptors. */
    SOCKETS
}
