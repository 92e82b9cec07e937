import org.jrestart.JRestart;
import org.jrestart.LaunchOptions;
import org.jrestart.core.posix.JRestartException;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A plain Java service for spec/integration/listeners_spec.rb: JRestart.listen
 * on 127.0.0.1:PORT, served by one Selector. Each connection gets "PID TOKEN"
 * (TOKEN new at every start) and may send one command line: "restart"
 * (JRestart.restart with a delay of 1 s: in place when the JVM is PID 1 of a
 * pid namespace) or "listeners" (JRestart.inheritedListeners()).
 */
public final class ListenService {
    public static void main(String[] args) throws Exception {
        String pid = new File("/proc/self").getCanonicalFile().getName();
        String token = UUID.randomUUID().toString().substring(0, 8);
        ServerSocketChannel server = JRestart.listen(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(args[0])));
        server.configureBlocking(false);
        Selector selector = Selector.open();
        server.register(selector, SelectionKey.OP_ACCEPT);
        System.out.println("listening " + pid + " " + token + " " + server.getLocalAddress());
        while (true) {
            selector.select();
            Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
            while (keys.hasNext()) {
                SelectionKey key = keys.next();
                keys.remove();
                if (key.isAcceptable()) {
                    SocketChannel client = server.accept();
                    if (client == null) continue;
                    client.configureBlocking(false);
                    write(client, pid + " " + token);
                    client.register(selector, SelectionKey.OP_READ, new StringBuilder());
                } else if (key.isReadable()) {
                    SocketChannel client = (SocketChannel) key.channel();
                    StringBuilder line = (StringBuilder) key.attachment();
                    ByteBuffer buffer = ByteBuffer.allocate(256);
                    int n = client.read(buffer);
                    if (n < 0) {
                        client.close();
                        continue;
                    }
                    line.append(new String(buffer.array(), 0, n, StandardCharsets.UTF_8));
                    if (line.indexOf("\n") < 0) continue;
                    write(client, answer(line.toString().trim()));
                    client.close();
                }
            }
        }
    }

    private static String answer(String command) {
        try {
            if (command.equals("restart")) {
                JRestart.restart(new LaunchOptions().delay(1, TimeUnit.SECONDS));
                return "restarting";
            }
            if (command.equals("listeners")) return JRestart.inheritedListeners().toString();
            return "unknown command " + command;
        } catch (JRestartException e) {
            return "error " + e.kind() + ": " + e.getMessage();
        }
    }

    private static void write(SocketChannel client, String line) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) client.write(bytes);
    }
}
