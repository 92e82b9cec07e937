package org.jrestart.core.listen;

import jnr.constants.platform.Fcntl;
import org.jrestart.core.posix.Descriptors;
import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Linux;
import org.jrestart.core.posix.Native;
import org.jrestart.core.posix.SocketInfo;
import org.jrestart.core.posix.Stat;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.net.ProtocolFamily;
import java.net.StandardProtocolFamily;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.spi.SelectorProvider;

/**
 * An inherited listening descriptor as a real JDK ServerSocketChannel, one a
 * JDK Selector takes (jnr-enxio's channels are not). The JDK has no public
 * way to wrap a descriptor, so there are two ways in: the channel class's own
 * constructor, by reflection, where java.base's sun.nio.ch and java.io are
 * open to us (jruby-complete's manifest opens them; a plain class path needs
 * --add-opens); else System.inheritedChannel() with the descriptor moved onto
 * fd 0 for the call, which the JDK answers only once per JVM.
 */
final class Channels {
    private static final String OPENS = "--add-opens java.base/sun.nio.ch=ALL-UNNAMED"
            + " --add-opens java.base/java.io=ALL-UNNAMED";
    private static final int F_GETFD = Fcntl.F_GETFD.intValue();
    private static final int F_SETFD = Fcntl.F_SETFD.intValue();
    private static boolean inheritedChannelUsed;

    private Channels() {
    }

    /** A channel and the descriptor it owns (the inherited way owns a duplicate of fd, not fd). */
    static final class Adopted {
        final ServerSocketChannel channel;
        final int fd;

        Adopted(ServerSocketChannel channel, int fd) {
            this.channel = channel;
            this.fd = fd;
        }
    }

    /** fd, a listening TCP socket (checked), as a channel that owns it or a duplicate of it. */
    static synchronized Adopted adopt(int fd, SocketInfo socket) throws JRestartException {
        String reflection;
        try {
            return new Adopted(constructed(fd, socket.family.equals("inet6")), fd);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // InaccessibleObjectException (Java 9+, module not open) is a RuntimeException.
            reflection = e.toString();
        }
        if (inheritedChannelUsed) {
            throw JRestartException.unsupported("fd " + fd + " (" + socket.localAddress + ") cannot become a JDK"
                    + " ServerSocketChannel: the JDK's channel class is closed to jrestart (" + reflection + "; start"
                    + " the JVM with " + OPENS + ", as jruby-complete's manifest does), and System.inheritedChannel(),"
                    + " the other way, answers once per JVM and was used already");
        }
        inheritedChannelUsed = true;
        return inherited(fd);
    }

    private static ServerSocketChannel constructed(int fd, boolean inet6) throws ReflectiveOperationException {
        Constructor<?> constructor = Class.forName("sun.nio.ch.ServerSocketChannelImpl").getDeclaredConstructor(
                SelectorProvider.class, ProtocolFamily.class, FileDescriptor.class, boolean.class);
        constructor.setAccessible(true);
        Field number = FileDescriptor.class.getDeclaredField("fd");
        number.setAccessible(true);
        FileDescriptor descriptor = new FileDescriptor();
        number.setInt(descriptor, fd);
        return (ServerSocketChannel) constructor.newInstance(SelectorProvider.provider(),
                inet6 ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET, descriptor, true);
    }

    /**
     * System.inheritedChannel() for fd, moved onto fd 0 for the call: the JDK
     * wraps a duplicate of fd 0, so fd 0 is put back at once and fd itself is
     * closed. The channel's descriptor is found as the other one on fd's socket.
     */
    private static Adopted inherited(int fd) throws JRestartException {
        Stat socket = Descriptors.fstat(fd);
        int stdin = Native.LIBC.fcntl(0, Linux.F_DUPFD_CLOEXEC, 3);
        if (stdin < 0) throw JRestartException.errno(Native.errno(), "fcntl(F_DUPFD_CLOEXEC) saving fd 0");
        Channel channel;
        try {
            if (Native.LIBC.dup2(fd, 0) < 0) throw JRestartException.errno(Native.errno(), "dup2(" + fd + ", 0)");
            channel = System.inheritedChannel();
        } catch (IOException e) {
            throw JRestartException.state("System.inheritedChannel() for fd " + fd + " failed: " + e);
        } finally {
            Native.LIBC.dup2(stdin, 0);
            Native.LIBC.close(stdin);
        }
        if (!(channel instanceof ServerSocketChannel)) {
            throw JRestartException.state("System.inheritedChannel() did not take fd " + fd + " as a listener ("
                    + channel + ")");
        }
        for (int other : Descriptors.numbers()) {
            if (other == fd || other <= 2) continue;
            Stat stat;
            try {
                stat = Descriptors.fstat(other);
            } catch (JRestartException closed) {
                continue;
            }
            if (stat.dev == socket.dev && stat.ino == socket.ino) {
                Native.LIBC.close(fd);
                // The JDK's duplicate is inheritable: nothing this JVM starts may get the listener by accident.
                int flags = Native.LIBC.fcntl(other, F_GETFD, 0);
                if (flags != -1) Native.LIBC.fcntl(other, F_SETFD, flags | Linux.FD_CLOEXEC);
                return new Adopted((ServerSocketChannel) channel, other);
            }
        }
        throw JRestartException.state("the channel System.inheritedChannel() made of fd " + fd + " has no descriptor");
    }
}
