package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.FrameType.FORWARD;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * FORWARD (PROTOCOL.md): a TCP port inside an environment's network namespace, reached from the
 * JVM on 127.0.0.1:host-port. The server inside is busybox httpd (or nc); the JVM talks to it
 * with plain {@link Socket}s.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve: FORWARD")
class HelperForwardTests {

    private static final List<String> APPLETS = List.of("sh", "httpd", "nc", "sleep", "echo", "cat");

    private static final String NET_NS = "pid,mount,uts,ipc,net";

    private static final int BIG = 5 * 1024 * 1024;

    @TempDir
    Path tmp;

    Path rootfs;

    byte[] big;

    @BeforeEach
    void buildBusyboxRootfs() throws IOException {
        rootfs = TestRootfs.busybox(tmp.resolve("rootfs"), APPLETS);
        Files.createDirectories(rootfs.resolve("www"));
        Files.writeString(rootfs.resolve("www/index.html"), "hello from inside\n");
        big = new byte[BIG];
        new Random(42).nextBytes(big);
        Files.write(rootfs.resolve("www/big.bin"), big);
    }

    @Test
    @DisplayName("an HTTP GET from the JVM reaches httpd inside; two parallel connections; 5 MB arrive intact")
    void httpThroughTheForward() throws Exception {
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            c.create(1, "ns=" + NET_NS);
            c.spawn(2, 1, false, "exec httpd -f -p 7000 -h /www");
            int port = c.forward(3, 1, 7000);
            assertThat(port).isBetween(1, 65535);

            assertThat(body(awaitGet(port, "/index.html"))).isEqualTo("hello from inside\n");

            // two connections at once: the first one's request is completed only after the second's answer
            try (Socket first = new Socket(InetAddress.getLoopbackAddress(), port);
                    Socket second = new Socket(InetAddress.getLoopbackAddress(), port)) {
                first.getOutputStream().write("GET /index.html HTTP/1.0\r\n".getBytes(UTF_8));
                first.getOutputStream().flush();
                second.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(UTF_8));
                assertThat(body(readAll(second))).isEqualTo("hello from inside\n");
                first.getOutputStream().write("\r\n".getBytes(UTF_8));
                assertThat(body(readAll(first))).isEqualTo("hello from inside\n");
            }

            byte[] response = get(port, "/big.bin");
            byte[] received = java.util.Arrays.copyOfRange(response, headerEnd(response), response.length);
            assertThat(received).hasSize(BIG);
            assertThat(sha256(received)).isEqualTo(sha256(big));
        }
    }

    @Test
    @DisplayName("bytes from the JVM reach nc inside, and the JVM's half-close (EOF) reaches it too")
    void bytesAndEofFromTheJvm() throws Exception {
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            c.create(1, "ns=" + NET_NS);
            // busybox nc -l stops at EOF of its stdin: a pipe that stays open
            c.spawn(2, 1, true, "nc -l -p 7000");
            int port = c.forward(3, 1, 7000);
            Awaitility.await("nc accepts")
                    .atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                            socket.getOutputStream().write("ping\n".getBytes(UTF_8));
                            socket.shutdownOutput();
                            socket.setSoTimeout(10_000);
                            // nothing listened yet: the relay closes at once (-1, or a reset since our bytes
                            // were unread); else nc exits on our EOF
                            socket.getInputStream().read();
                        } catch (SocketException notYetListening) {
                            // retried
                        }
                        return c.exited(2);
                    });
            assertThat(c.output(2)).isEqualTo("ping\n");
            assertThat(c.exit(2)).containsEntry("code", "0");
        }
    }

    @Test
    @DisplayName("nothing listening inside: the connection is closed (EOF), not left hanging")
    void nothingListening() throws Exception {
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            c.create(1, "ns=" + NET_NS);
            int port = c.forward(2, 1, 7999);
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                socket.setSoTimeout(10_000);
                // a relay left hanging would time out here (SocketTimeoutException) instead of reading EOF
                assertThat(socket.getInputStream().read()).isEqualTo(-1);
            }
        }
    }

    @Test
    @DisplayName("after CLOSE of the env the host port refuses; the host's other listening sockets are unchanged")
    void closeEndsTheForward() throws Exception {
        Set<String> listeningBefore = hostListeningSockets();
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            c.create(1, "ns=" + NET_NS);
            c.spawn(2, 1, false, "exec httpd -f -p 7000 -h /www");
            int port = c.forward(3, 1, 7000);
            assertThat(hostListeningSockets()).contains(String.format("127.0.0.1:%d", port));
            assertThat(body(awaitGet(port, "/index.html"))).isEqualTo("hello from inside\n");
            // an open relay is closed with the env
            try (Socket idle = new Socket(InetAddress.getLoopbackAddress(), port)) {
                idle.getOutputStream().write("GET /index.html HTTP/1.0\r\n".getBytes(UTF_8));
                c.close(1);
                idle.setSoTimeout(10_000);
                assertThat(readAll(idle)).isEmpty();
            }
            assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
                    .isInstanceOf(ConnectException.class);
            assertThat(hostListeningSockets()).isEqualTo(listeningBefore);
        }
    }

    @Test
    @DisplayName("an env without net: FORWARD answers the port itself (it is already the host's)")
    void withoutNetworkNamespace() throws Exception {
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            c.create(1, "ns=pid,mount,uts,ipc");
            assertThat(c.forward(2, 1, 7123)).isEqualTo(7123);
        }
    }

    @Test
    @DisplayName("a bad port is an ERROR with stage forward; an unknown env one with stage request")
    void badRequests() throws Exception {
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            c.create(1, "ns=" + NET_NS);
            for (String bad : List.of("port=0", "port=65536", "port=http", "port=")) {
                Frame error = c.client.request(FORWARD, 2, "env=1", bad);
                assertThat(error).as(bad).hasType(ERROR);
                assertThat(error.fields()).containsEntry("stage", "forward").containsEntry("errname", "EINVAL");
            }
            Frame missing = c.client.request(FORWARD, 3, "env=1");
            assertThat(missing.fields()).containsEntry("stage", "forward");
            Frame unknown = c.client.request(FORWARD, 4, "env=99", "port=80");
            assertThat(unknown)
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "request")
                    .containsEntry("errname", "ESRCH")
                    .containsEntry("kind", "request");
        }
    }

    // ---- plumbing ----

    /** GETs until httpd inside listens (before, the relay closes each connection at once). */
    private static byte[] awaitGet(int port, String path) {
        return Awaitility.await("httpd answers " + path)
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> get(port, path), response -> response.length > 0);
    }

    private static byte[] get(int port, String path) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("GET " + path + " HTTP/1.0\r\n\r\n").getBytes(UTF_8));
            return readAll(socket);
        }
    }

    private static byte[] readAll(Socket socket) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        in.transferTo(all);
        return all.toByteArray();
    }

    private static int headerEnd(byte[] response) {
        String text =
                new String(response, 0, Math.min(response.length, 4096), java.nio.charset.StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        assertThat(end).as(text).isPositive();
        assertThat(text).startsWith("HTTP/1.");
        return end + 4;
    }

    private static String body(byte[] response) {
        return new String(response, headerEnd(response), response.length - headerEnd(response), UTF_8);
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    /** The host's listening TCP sockets, "ADDR:PORT" (IPv4 only for loopback readability). */
    private static Set<String> hostListeningSockets() throws IOException {
        Set<String> sockets = new TreeSet<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            try (Stream<String> lines = Files.lines(Path.of(table))) {
                lines.skip(1)
                        .map(String::trim)
                        .map(line -> line.split("\\s+"))
                        .filter(f -> f[3].equals("0A"))
                        .forEach(f -> sockets.add(address(f[1])));
            }
        }
        return sockets;
    }

    private static String address(String hex) {
        String[] parts = hex.split(":");
        int port = Integer.parseInt(parts[1], 16);
        if (parts[0].length() != 8) {
            return parts[0] + ":" + port;
        }
        long ip = Long.parseLong(parts[0], 16); // little-endian on x86
        return String.format("%d.%d.%d.%d:%d", ip & 0xff, (ip >> 8) & 0xff, (ip >> 16) & 0xff, (ip >> 24) & 0xff, port);
    }
}
