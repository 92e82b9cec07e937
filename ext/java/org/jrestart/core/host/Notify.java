package org.jrestart.core.host;

import jnr.constants.platform.AddressFamily;
import jnr.constants.platform.Sock;
import jnr.constants.platform.SocketMessage;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Linux;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.Support;

import java.nio.charset.StandardCharsets;

/**
 * sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. Sent from
 * the service's main process, so systemd accepts it under NotifyAccess=main,
 * where a systemd-notify child would be refused.
 */
public final class Notify {
    private static final int SUN_PATH = 108;

    private Notify() {
    }

    /**
     * sd_notify: sends state ("READY=1", "STATUS=...") to the socket named by
     * path, the service's $NOTIFY_SOCKET ("@name" is abstract); false when
     * there is none or it could not be sent.
     */
    public static boolean send(byte[] path, String message) throws JRestartException {
        Support.require("notify");
        if (path == null || path.length == 0 || path.length >= SUN_PATH) return false;
        Pointer address = Memory.allocateDirect(Native.RUNTIME, 2 + SUN_PATH, true);
        address.putShort(0, (short) AddressFamily.AF_UNIX.intValue());
        address.put(2, path, 0, path.length);
        // An abstract socket's name starts with a NUL byte instead of '@'.
        if (path[0] == '@') address.putByte(2, (byte) 0);
        int length = 2 + path.length + (path[0] == '@' ? 0 : 1);
        int fd = Native.LIBC.socket(AddressFamily.AF_UNIX.intValue(),
                Sock.SOCK_DGRAM.intValue() | Sock.SOCK_CLOEXEC.intValue(), 0);
        if (fd < 0) return false;
        try {
            byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
            return Native.LIBC.sendto(fd, bytes, bytes.length, SocketMessage.MSG_NOSIGNAL.intValue(), address, length)
                    == bytes.length;
        } finally {
            Native.LIBC.close(fd);
        }
    }

    /** CLOCK_MONOTONIC in microseconds, as systemd's MONOTONIC_USEC= wants it. */
    public static long monotonicMicros() {
        Pointer timespec = Memory.allocateDirect(Native.RUNTIME, 16, true);
        if (Native.LIBC.clock_gettime(Linux.CLOCK_MONOTONIC, timespec) != 0) return 0;
        return timespec.getLong(0) * 1_000_000L + timespec.getLong(8) / 1000;
    }
}
