package org.jrestart.core.listen;

import jnr.constants.platform.Errno;
import jnr.constants.platform.Fcntl;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.FileType;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Linux;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.Proc;
import org.jrestart.core.posix.SocketInfo;
import org.jrestart.core.posix.Stat;
import org.jrestart.core.posix.Warnings;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The listening sockets handed from one JVM to the next across an exec in
 * place, so that connections made meanwhile wait in the listen queue instead
 * of being refused. A JVM learns what it inherited once, from
 * JRESTART_LISTENERS ("fd:host:port[:name],...", IPv6 hosts in brackets) with
 * JRESTART_LISTENERS_PID, or from systemd's socket activation (LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES, descriptors from 3): only when the pid named is
 * this process's, and only descriptors that really are listening TCP sockets
 * (fstat, SO_TYPE, SO_ACCEPTCONN, getsockname). Anything else is stale and
 * left alone. listen adopts an inherited listener bound to the address asked
 * for, or binds a new one; both are handed on by the next exec in place.
 */
public final class Listeners {
    public static final String VARIABLE = "JRESTART_LISTENERS";
    public static final String PID_VARIABLE = "JRESTART_LISTENERS_PID";
    /**
     * The addresses ("host:port,...") of the listeners an exec in place did
     * not hand on: a connection accepted on one of them as the exec began is
     * inherited, and the new JVM closes it.
     */
    public static final String UNSERVED_VARIABLE = "JRESTART_UNSERVED";
    /**
     * Set by an overlap restart (the launch layer's Overlap.VARIABLE): "OLDPID:..."
     * in a JVM started beside the old one, whose PID_VARIABLE is the old pid.
     */
    public static final String OVERLAP_VARIABLE = "JRESTART_OVERLAP";
    /** Every variable that names inherited listeners: none reaches a new program but the ones set for it. */
    public static final List<String> VARIABLES = Collections.unmodifiableList(Arrays.asList(
            VARIABLE, PID_VARIABLE, UNSERVED_VARIABLE, OVERLAP_VARIABLE, "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"));
    public static final int DEFAULT_BACKLOG = 1024;
    private static final int SD_LISTEN_FDS_START = 3;
    private static final int F_GETFD = Fcntl.F_GETFD.intValue();
    private static final int F_SETFD = Fcntl.F_SETFD.intValue();

    /** What this JVM inherited, by fd, in the order named; null until first asked for. */
    private static Map<Integer, Listener> inherited;
    /** The listeners handed on by the next exec in place, by fd: those listen adopted or bound. */
    private static final Map<Integer, Handed> HANDED = new LinkedHashMap<Integer, Handed>();

    /** A listener to hand on, and the socket it was (an fd number is only a name). */
    private static final class Handed {
        final Listener listener;
        final ServerSocketChannel channel;
        final long dev;
        final long ino;

        Handed(Listener listener, ServerSocketChannel channel, Stat stat) {
            this.listener = listener;
            this.channel = channel;
            this.dev = stat.dev;
            this.ino = stat.ino;
        }
    }

    private Listeners() {
    }

    /** What this JVM inherited, adopted or not. */
    public static synchronized List<Listener> inherited() throws JRestartException {
        return new ArrayList<Listener>(table().values());
    }

    /**
     * Reads the environment the JVM started with, once. Each listener kept is
     * marked close-on-exec, so that nothing this JVM starts inherits it by
     * accident; an exec in place hands on the ones adopted by then.
     */
    private static Map<Integer, Listener> table() throws JRestartException {
        if (inherited != null) return inherited;
        Map<Integer, Listener> found = new LinkedHashMap<Integer, Listener>();
        Map<String, String> env = System.getenv();
        int self = Proc.selfPid();
        boolean ours = ours(env, self);
        if (ours && env.get(VARIABLE) != null) {
            for (String entry : env.get(VARIABLE).split(",")) {
                Listener named = parse(entry);
                if (named == null) {
                    Warnings.warn(VARIABLE + " entry \"" + entry + "\" is not fd:host:port; ignored");
                    continue;
                }
                Listener verified = verified(named.fd, named.name);
                if (verified != null && verified.port == named.port) found.put(verified.fd, verified);
            }
        }
        String fds = env.get("LISTEN_FDS");
        if (fds != null && String.valueOf(self).equals(env.get("LISTEN_PID"))) {
            String[] names = env.get("LISTEN_FDNAMES") == null ? new String[0] : env.get("LISTEN_FDNAMES").split(":", -1);
            int count;
            try {
                count = Integer.parseInt(fds.trim());
            } catch (NumberFormatException e) {
                count = 0;
                Warnings.warn("LISTEN_FDS=" + fds + " is not a number; no socket adopted");
            }
            for (int i = 0; i < count; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                Listener verified = verified(fd, i < names.length && !names[i].isEmpty() ? names[i] : null);
                if (verified != null && !found.containsKey(fd)) found.put(fd, verified);
            }
        }
        for (int fd : found.keySet()) {
            int flags = Native.LIBC.fcntl(fd, F_GETFD, 0);
            if (flags != -1) Native.LIBC.fcntl(fd, F_SETFD, flags | Linux.FD_CLOEXEC);
        }
        List<Listener> unserved = new ArrayList<Listener>();
        if (ours && env.get(UNSERVED_VARIABLE) != null) {
            for (String entry : env.get(UNSERVED_VARIABLE).split(",")) {
                // Only the address counts: parsed as an entry of JRESTART_LISTENERS with a placeholder fd.
                Listener address = parse("3:" + entry);
                if (address != null) unserved.add(address);
            }
        }
        closeUnserved(found, unserved);
        inherited = found;
        return found;
    }

    /**
     * Whether the listener variables are for this JVM: PID_VARIABLE is its
     * own pid (an exec in place), or the pid of the old JVM that started it
     * beside itself (an overlap restart), still its parent. A process this
     * JVM starts has neither.
     */
    private static boolean ours(Map<String, String> env, int self) {
        String pid = env.get(PID_VARIABLE);
        if (pid == null) return false;
        if (pid.equals(String.valueOf(self))) return true;
        String overlap = env.get(OVERLAP_VARIABLE);
        if (overlap == null || !overlap.startsWith(pid + ":")) return false;
        if (pid.equals(String.valueOf(Proc.parentPid()))) return true;
        // Adopted by the manager at once (under systemd): the old JVM holds the ready pipe's other end.
        String[] fields = overlap.split(":");
        try {
            return fields.length > 1 && Proc.shares(Integer.parseInt(pid), Integer.parseInt(fields[1]));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * Closes the connections the JVM before accepted as its exec began: its
     * threads run until execve stops them, after every descriptor was marked
     * close-on-exec, and the JDK accepts without SOCK_CLOEXEC. The new JVM
     * inherits them, but nobody serves them, and their clients would wait
     * forever; closed, they see the end of the stream, as every connection
     * cut by the exec does. Those on the ports of the listeners handed on
     * (by fd), and of those it did not hand on (unserved), except on a port
     * this JVM listens on itself by now, whose connections may be its own.
     */
    private static void closeUnserved(Map<Integer, Listener> handed, List<Listener> unserved) throws JRestartException {
        if (handed.isEmpty() && unserved.isEmpty()) return;
        Map<Integer, SocketInfo> connected = new LinkedHashMap<Integer, SocketInfo>();
        Set<Integer> listening = new HashSet<Integer>();
        for (int fd : Descriptors.numbers()) {
            if (fd <= 2 || handed.containsKey(fd) || Descriptors.typeOf(fd) != FileType.SOCKET) continue;
            SocketInfo socket = SocketInfo.of(fd);
            if (socket == null || socket.ip == null || !socket.stream) continue;
            if (socket.listening) {
                listening.add(socket.port);
            } else {
                connected.put(fd, socket);
            }
        }
        for (Map.Entry<Integer, SocketInfo> c : connected.entrySet()) {
            SocketInfo socket = c.getValue();
            if (accepted(socket, handed.values()) || !listening.contains(socket.port) && accepted(socket, unserved)) {
                Native.LIBC.close(c.getKey());
            }
        }
    }

    /** Whether socket is a connection that one of listeners could have accepted. */
    private static boolean accepted(SocketInfo socket, Collection<Listener> listeners) {
        for (Listener listener : listeners) {
            if (listener.port == socket.port && (listener.host.equals(socket.ip) || same(listener.host, null))) return true;
        }
        return false;
    }

    /**
     * The addresses of this JVM's listening TCP sockets that handed does not
     * hand on, as UNSERVED_VARIABLE's value; null when there are none.
     */
    static String unserved(Collection<Listener> handed) throws JRestartException {
        Set<String> handedOn = new HashSet<String>();
        for (Listener l : handed) handedOn.add(l.host + " " + l.port);
        Set<String> addresses = new LinkedHashSet<String>();
        for (int fd : Descriptors.numbers()) {
            if (fd <= 2 || Descriptors.typeOf(fd) != FileType.SOCKET) continue;
            SocketInfo socket = SocketInfo.of(fd);
            if (socket == null || socket.ip == null || !socket.stream || !socket.listening) continue;
            if (handedOn.contains(socket.ip + " " + socket.port)) continue;
            addresses.add((socket.ip.indexOf(':') >= 0 ? "[" + socket.ip + "]" : socket.ip) + ":" + socket.port);
        }
        return addresses.isEmpty() ? null : String.join(",", addresses);
    }

    /** "fd:host:port[:name]" with "[v6]" hosts; null when malformed. */
    static Listener parse(String entry) {
        int colon = entry.indexOf(':');
        if (colon <= 0) return null;
        try {
            int fd = Integer.parseInt(entry.substring(0, colon));
            String rest = entry.substring(colon + 1);
            String host;
            if (rest.startsWith("[")) {
                int close = rest.indexOf(']');
                if (close < 0 || close + 1 >= rest.length() || rest.charAt(close + 1) != ':') return null;
                host = rest.substring(1, close);
                rest = rest.substring(close + 2);
            } else {
                int end = rest.indexOf(':');
                if (end < 0) return null;
                host = rest.substring(0, end);
                rest = rest.substring(end + 1);
            }
            int end = rest.indexOf(':');
            int port = Integer.parseInt(end < 0 ? rest : rest.substring(0, end));
            String name = end < 0 || end + 1 == rest.length() ? null : rest.substring(end + 1);
            return fd > 2 && port > 0 && port < 65536 ? new Listener(fd, host, port, name, false) : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** fd as a Listener when it is a listening TCP socket now; null otherwise. */
    private static Listener verified(int fd, String name) throws JRestartException {
        if (fd <= 2 || Descriptors.typeOf(fd) != FileType.SOCKET) return null;
        SocketInfo socket = SocketInfo.of(fd);
        if (socket == null || socket.ip == null || !socket.stream || !socket.listening) return null;
        return new Listener(fd, socket.ip, socket.port, name, false);
    }

    /**
     * A listener on host:port: the inherited one bound to that address (port
     * 0 adopts none), else a new one (SO_REUSEADDR, as Ruby's TCPServer); its
     * listen queue set to backlog natively either way. Handed on by the next
     * exec in place. A port in use with nothing inherited is EADDRINUSE.
     */
    public static synchronized ServerSocketChannel listen(String host, int port, int backlog) throws JRestartException {
        if (host == null) throw JRestartException.invalid("host must not be null");
        if (port < 0 || port > 65535) throw JRestartException.invalid("port must be 0 to 65535, got " + port);
        if (backlog < 1) throw JRestartException.invalid("backlog: must be a positive Integer, got " + backlog);
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw JRestartException.invalid("host " + host + " is unknown: " + e.getMessage());
        }
        for (Listener candidate : table().values()) {
            if (candidate.adopted || port == 0 || candidate.port != port || !same(candidate.host, address)) continue;
            Channels.Adopted adopted;
            try {
                adopted = Channels.adopt(candidate.fd, SocketInfo.of(candidate.fd));
            } catch (JRestartException e) {
                // Nobody else can take it now: closed, not leaked.
                Native.LIBC.close(candidate.fd);
                inherited.remove(candidate.fd);
                throw e;
            }
            inherited.put(candidate.fd, candidate.adopted());
            resize(adopted.fd, backlog, candidate);
            hand(adopted.channel, adopted.fd, candidate.name);
            return adopted.channel;
        }
        return bind(new InetSocketAddress(address, port), backlog, host);
    }

    /** Whether ip (a bound address) is address, or both are wildcards; address null: whether ip is one. */
    private static boolean same(String ip, InetAddress address) {
        try {
            InetAddress bound = InetAddress.getByName(ip);
            if (address == null) return bound.isAnyLocalAddress();
            return bound.equals(address) || bound.isAnyLocalAddress() && address.isAnyLocalAddress();
        } catch (UnknownHostException impossible) {
            return false;
        }
    }

    /** Every inherited listener as a channel, adopting those not adopted yet; their queues are left as they are. */
    public static synchronized List<ServerSocketChannel> inheritedChannels() throws JRestartException {
        List<ServerSocketChannel> channels = new ArrayList<ServerSocketChannel>();
        for (Listener listener : new ArrayList<Listener>(table().values())) {
            if (listener.adopted) {
                for (Handed handed : HANDED.values()) {
                    if (handed.listener.port == listener.port && handed.listener.host.equals(listener.host)) {
                        channels.add(handed.channel);
                    }
                }
                continue;
            }
            Channels.Adopted adopted;
            try {
                adopted = Channels.adopt(listener.fd, SocketInfo.of(listener.fd));
            } catch (JRestartException e) {
                Native.LIBC.close(listener.fd);
                inherited.remove(listener.fd);
                throw e;
            }
            inherited.put(listener.fd, listener.adopted());
            hand(adopted.channel, adopted.fd, listener.name);
            channels.add(adopted.channel);
        }
        return channels;
    }

    private static ServerSocketChannel bind(InetSocketAddress address, int backlog, String host) throws JRestartException {
        ServerSocketChannel channel = null;
        try {
            channel = ServerSocketChannel.open();
            channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            channel.bind(address, backlog);
        } catch (BindException e) {
            close(channel);
            String message = String.valueOf(e.getMessage());
            String subject = "bind(2) for \"" + host + "\" port " + address.getPort();
            if (message.contains("already in use")) throw JRestartException.errno(Errno.EADDRINUSE.intValue(), subject);
            if (message.contains("assign requested")) {
                throw JRestartException.errno(Errno.EADDRNOTAVAIL.intValue(), subject);
            }
            if (message.contains("ermission denied")) throw JRestartException.errno(Errno.EACCES.intValue(), subject);
            throw JRestartException.state(subject + " failed: " + message);
        } catch (IOException e) {
            close(channel);
            throw JRestartException.state("listening on " + host + " port " + address.getPort() + " failed: " + e);
        }
        int fd;
        try {
            prune();
            fd = descriptorOf(channel, true);
        } catch (JRestartException | RuntimeException e) {
            close(channel);
            throw e;
        }
        hand(channel, fd, null);
        return channel;
    }

    /**
     * The descriptor of a channel this JVM just bound, found by its address
     * among the listening sockets: a bound address and port names one socket
     * (no SO_REUSEPORT here), and the JDK gives no public way to its number.
     */
    private static int descriptorOf(ServerSocketChannel channel, boolean fresh) throws JRestartException {
        InetSocketAddress local;
        try {
            local = (InetSocketAddress) channel.getLocalAddress();
        } catch (IOException | RuntimeException e) {
            throw JRestartException.invalid("the listener " + channel + " has no local address: " + e);
        }
        if (local == null) throw JRestartException.invalid("the channel " + channel + " is not bound");
        int found = -1;
        for (int fd : Descriptors.numbers()) {
            if (fd <= 2 || fresh && HANDED.containsKey(fd) || Descriptors.typeOf(fd) != FileType.SOCKET) continue;
            SocketInfo socket = SocketInfo.of(fd);
            if (socket == null || !socket.listening || socket.port != local.getPort() || socket.ip == null) continue;
            if (!same(socket.ip, local.getAddress())) continue;
            if (found >= 0) {
                throw JRestartException.state("two listening sockets are bound to " + local + " (fds " + found + " and "
                        + fd + "): which one the new channel is cannot be told");
            }
            found = fd;
        }
        if (found < 0) throw JRestartException.state("the listener on " + local + " has no descriptor");
        return found;
    }

    /** The descriptor of a listening channel (the Java facade's listeners option). */
    public static synchronized int descriptorOf(ServerSocketChannel channel) throws JRestartException {
        if (channel == null) throw JRestartException.invalid("listeners: a channel is null");
        if (!channel.isOpen()) throw JRestartException.errno(Native.EBADF, "listeners: " + channel + " (closed)");
        for (Handed handed : HANDED.values()) {
            if (handed.channel == channel) return handed.listener.fd;
        }
        return descriptorOf(channel, false);
    }

    /** listen(fd, backlog): the JDK's and JRuby's queues stay as first set; the kernel resizes a listening socket's. */
    private static void resize(int fd, int backlog, Listener listener) throws JRestartException {
        if (Native.LIBC.listen(fd, backlog) != 0) {
            throw JRestartException.errno(Native.errno(), "listen(" + fd + ", " + backlog + ") on " + listener);
        }
    }

    private static void hand(ServerSocketChannel channel, int fd, String name) throws JRestartException {
        SocketInfo socket = SocketInfo.of(fd);
        HANDED.put(fd, new Handed(new Listener(fd, socket.ip, socket.port, name, true), channel, Descriptors.fstat(fd)));
    }

    private static void close(ServerSocketChannel channel) {
        if (channel == null) return;
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing a channel that failed to bind; nothing is left to release.
        }
    }

    /**
     * Checks listeners: given for an exec in place (each must be an open,
     * listening TCP socket) and returns what the exec hands on: those, and
     * every listener listen made that is still open as the same socket.
     */
    public static synchronized Handover handover(int[] given) throws JRestartException {
        return handover(given, -1);
    }

    /**
     * handover(given), and the listener inheritedChannel (-1: none) that the
     * exec puts on the new image's fd 0 instead of its own number.
     */
    public static synchronized Handover handover(int[] given, int inheritedChannel) throws JRestartException {
        Map<Integer, Listener> handed = new LinkedHashMap<Integer, Listener>();
        for (int fd : given) handed.put(fd, checked(fd));
        Listener stdin = inheritedChannel < 0 ? null : listening(inheritedChannel, "inherited_channel: fd " + inheritedChannel);
        if (stdin != null && handed.containsKey(inheritedChannel)) {
            throw JRestartException.invalid("inherited_channel: fd " + inheritedChannel + " is in listeners: too;"
                    + " the new JVM gets it on fd 0 only");
        }
        prune();
        for (Handed h : HANDED.values()) {
            if (!handed.containsKey(h.listener.fd) && h.listener.fd != inheritedChannel) {
                handed.put(h.listener.fd, h.listener);
            }
        }
        return new Handover(new ArrayList<Listener>(handed.values()), stdin);
    }

    /** Forgets the listeners the service closed: their numbers may name other files by now. */
    private static void prune() {
        Iterator<Handed> entries = HANDED.values().iterator();
        while (entries.hasNext()) {
            Handed h = entries.next();
            Stat stat;
            try {
                stat = Descriptors.fstat(h.listener.fd);
            } catch (JRestartException closed) {
                entries.remove();
                continue;
            }
            if (stat.dev != h.dev || stat.ino != h.ino) entries.remove();
        }
    }

    private static Listener checked(int fd) throws JRestartException {
        String what = "listeners: fd " + fd;
        if (fd >= 0 && fd <= 2 && Descriptors.isOpen(fd)) {
            throw JRestartException.invalid(what + " is stdin, stdout or stderr, which an exec keeps anyway");
        }
        return listening(fd, what);
    }

    /** fd as a listener, refused (naming it as what) unless it is an open, listening TCP socket. */
    private static Listener listening(int fd, String what) throws JRestartException {
        if (fd < 0 || !Descriptors.isOpen(fd)) throw JRestartException.errno(Native.EBADF, what);
        FileType type = Descriptors.typeOf(fd);
        if (type != FileType.SOCKET) {
            throw JRestartException.invalid(what + " is not a socket (" + String.valueOf(type).toLowerCase(Locale.ROOT) + ")");
        }
        SocketInfo socket = SocketInfo.of(fd);
        if (socket == null || socket.ip == null) {
            throw JRestartException.invalid(what + " is not a TCP socket (" + (socket == null ? "?" : socket.family)
                    + ")");
        }
        if (!socket.stream) throw JRestartException.invalid(what + " is not a TCP socket (a datagram socket, UDP?)");
        if (!socket.listening) {
            throw JRestartException.invalid(what + " is a TCP socket that is not listening (" + socket.localAddress
                    + ", connected or only bound)");
        }
        String name = null;
        Handed known = HANDED.get(fd);
        if (known != null) name = known.listener.name;
        return new Listener(fd, socket.ip, socket.port, name, true);
    }

    /** What an exec in place hands on: the listeners, their fds to keep, and the variables naming them. */
    public static final class Handover {
        public final List<Listener> listeners;
        /** The listener that goes on the new image's fd 0, or null. */
        public final Listener inheritedChannel;

        Handover(List<Listener> listeners, Listener inheritedChannel) {
            this.listeners = Collections.unmodifiableList(listeners);
            this.inheritedChannel = inheritedChannel;
        }

        public int[] fds() {
            int[] fds = new int[listeners.size()];
            for (int i = 0; i < fds.length; i++) fds[i] = listeners.get(i).fd;
            return fds;
        }

        /** JRESTART_UNSERVED's value: this JVM's other listeners, or null. */
        public String unserved() throws JRestartException {
            List<Listener> all = new ArrayList<Listener>(listeners);
            if (inheritedChannel != null) all.add(inheritedChannel);
            return Listeners.unserved(all);
        }

        /** JRESTART_LISTENERS's value, or null when there is nothing to hand on. */
        public String value() {
            if (listeners.isEmpty()) return null;
            StringBuilder text = new StringBuilder();
            for (Listener l : listeners) {
                if (text.length() > 0) text.append(',');
                text.append(l.fd).append(':').append(l.host.indexOf(':') >= 0 ? "[" + l.host + "]" : l.host)
                        .append(':').append(l.port);
                if (l.name != null && l.name.indexOf(',') < 0) text.append(':').append(l.name);
            }
            return text.toString();
        }

        /**
         * Holds each listener by a close-on-exec duplicate, so that the service
         * closing it before the exec (its stop, an at_exit handler) does not
         * lose it: the exec puts the duplicate back on its number. The
         * inherited channel goes on fd 0, with fds 1 and 2 held as they are
         * now: the JDK's inherited channel, closed by the service's stop,
         * points fds 0 to 2 at /dev/null, and the new JVM's output would go there.
         */
        public int[][] hold() throws JRestartException {
            int n = listeners.size() + (inheritedChannel == null ? 0 : 3);
            int[] from = new int[n];
            int[] to = new int[n];
            int count = 0;
            try {
                for (Listener l : listeners) {
                    from[count] = duplicate(l.fd, "listener " + l);
                    to[count++] = l.fd;
                }
                if (inheritedChannel != null) {
                    from[count] = duplicate(inheritedChannel.fd, "inherited_channel: " + inheritedChannel);
                    to[count++] = 0;
                    for (int fd = 1; fd <= 2; fd++) {
                        if (!Descriptors.isOpen(fd)) continue;
                        from[count] = duplicate(fd, "fd " + fd + " for the new JVM");
                        to[count++] = fd;
                    }
                }
            } catch (JRestartException e) {
                for (int i = 0; i < count; i++) Native.LIBC.close(from[i]);
                throw e;
            }
            return new int[][] {Arrays.copyOf(from, count), Arrays.copyOf(to, count)};
        }

        private static int duplicate(int fd, String what) throws JRestartException {
            int copy = Native.LIBC.fcntl(fd, Linux.F_DUPFD_CLOEXEC, 3);
            if (copy < 0) throw JRestartException.errno(Native.errno(), "fcntl(F_DUPFD_CLOEXEC) holding " + what);
            return copy;
        }
    }
}
