package org.jrestart.core.listen;

/**
 * A listening TCP socket this JVM inherited (from the JVM it replaced, or
 * from systemd's socket activation) or hands on: its descriptor, the address
 * it is bound to, its name (systemd's FileDescriptorName=; null when it has
 * none) and whether this JVM adopted it (listen, inheritedChannels).
 */
public final class Listener {
    public final int fd;
    /** The bound IP address as text: "127.0.0.1", "::", "::1". */
    public final String host;
    public final int port;
    public final String name;
    public final boolean adopted;

    Listener(int fd, String host, int port, String name, boolean adopted) {
        this.fd = fd;
        this.host = host;
        this.port = port;
        this.name = name;
        this.adopted = adopted;
    }

    Listener adopted() {
        return new Listener(fd, host, port, name, true);
    }

    @Override
    public String toString() {
        return "fd " + fd + " " + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port
                + (name == null ? "" : " (" + name + ")") + (adopted ? ", adopted" : "");
    }
}
