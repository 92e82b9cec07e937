package org.jrestart.core.posix;

import jnr.constants.platform.AddressFamily;
import jnr.constants.platform.Sock;
import jnr.constants.platform.SocketLevel;
import jnr.constants.platform.SocketOption;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.byref.IntByReference;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/** What a socket descriptor is bound to, from getsockname and SO_ACCEPTCONN. */
public final class SocketInfo {
    private static final int AF_UNIX = AddressFamily.AF_UNIX.intValue();
    private static final int AF_INET = AddressFamily.AF_INET.intValue();
    private static final int AF_INET6 = AddressFamily.AF_INET6.intValue();
    private static final int SOL_SOCKET = SocketLevel.SOL_SOCKET.intValue();
    private static final int SO_ACCEPTCONN = SocketOption.SO_ACCEPTCONN.intValue();
    private static final int SO_TYPE = SocketOption.SO_TYPE.intValue();
    private static final int SOCK_STREAM = Sock.SOCK_STREAM.intValue();
    private static final int SOCKADDR_STORAGE = 128;

    /** "inet", "inet6", "unix", or "family N". */
    public final String family;
    /** "127.0.0.1:8080", "[::1]:8080", a socket path, "@name" (abstract), or "" (unnamed). */
    public final String localAddress;
    public final boolean listening;
    /** SOCK_STREAM (TCP for inet and inet6). */
    public final boolean stream;
    /** The bound IP address as text (inet and inet6), else null. */
    public final String ip;
    /** The bound port (inet and inet6), else -1. */
    public final int port;

    private SocketInfo(String family, String localAddress, boolean listening, boolean stream, String ip, int port) {
        this.family = family;
        this.localAddress = localAddress;
        this.listening = listening;
        this.stream = stream;
        this.ip = ip;
        this.port = port;
    }

    /** The details of socket fd, or null when fd is not a socket (any more). */
    public static SocketInfo of(int fd) {
        Pointer addr = Memory.allocateDirect(Native.RUNTIME, SOCKADDR_STORAGE, true);
        IntByReference length = new IntByReference(SOCKADDR_STORAGE);
        if (Native.LIBC.getsockname(fd, addr, length) != 0) return null;
        Pointer flag = Memory.allocateDirect(Native.RUNTIME, 4, true);
        IntByReference flagLength = new IntByReference(4);
        boolean listening = Native.LIBC.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, flag, flagLength) == 0
                && flag.getInt(0) != 0;
        boolean stream = Native.LIBC.getsockopt(fd, SOL_SOCKET, SO_TYPE, flag, new IntByReference(4)) == 0
                && flag.getInt(0) == SOCK_STREAM;
        int family = addr.getShort(0) & 0xffff;
        int size = Math.min(length.intValue(), SOCKADDR_STORAGE);
        if (family == AF_INET) {
            String ip = ip(addr, 4, 4);
            return new SocketInfo("inet", ip + ":" + port(addr), listening, stream, ip, port(addr));
        }
        if (family == AF_INET6) {
            // The JDK opens dual-stack sockets: an IPv4 peer shows as ::ffff:a.b.c.d, printed as a.b.c.d.
            String ip = ip(addr, 8, 16);
            return new SocketInfo("inet6", (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + port(addr), listening,
                    stream, ip, port(addr));
        }
        if (family == AF_UNIX) return new SocketInfo("unix", unixPath(addr, size), listening, stream, null, -1);
        return new SocketInfo("family " + family, "", listening, stream, null, -1);
    }

    private static int port(Pointer addr) {
        // sin_port and sin6_port are in network byte order.
        return ((addr.getByte(2) & 0xff) << 8) | (addr.getByte(3) & 0xff);
    }

    /** Dotted IPv4, or IPv6 with its longest run of zero groups written "::" (RFC 5952). */
    private static String ip(Pointer addr, int offset, int length) {
        byte[] bytes = new byte[length];
        addr.get(offset, bytes, 0, length);
        InetAddress address;
        try {
            address = InetAddress.getByAddress(bytes);
        } catch (UnknownHostException impossible) {
            throw new AssertionError("InetAddress refused " + length + " bytes", impossible);
        }
        if (!(address instanceof Inet6Address)) return address.getHostAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; i++) {
            int j = i;
            while (j < 8 && groups[j] == 0) j++;
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = Math.max(i, j);
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                text.append("::");
                i += bestLength - 1;
                continue;
            }
            if (text.length() > 0 && text.charAt(text.length() - 1) != ':') text.append(':');
            text.append(Integer.toHexString(groups[i]));
        }
        return text.toString();
    }

    private static String unixPath(Pointer addr, int size) {
        int length = size - 2;
        if (length <= 0) return "";
        byte[] bytes = new byte[length];
        addr.get(2, bytes, 0, length);
        if (bytes[0] == 0) return "@" + new String(bytes, 1, length - 1, StandardCharsets.UTF_8);
        int end = 0;
        while (end < length && bytes[end] != 0) end++;
        return new String(bytes, 0, end, StandardCharsets.UTF_8);
    }
}
