package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("mappedPort: the JVM reaches a server inside an environment")
@Isolated(
        rootfs = "busybox.tar",
        namespaces = {PID, MOUNT, NET})
class MappedPortTests {

    @Test
    @DisplayName("an HTTP server listening inside a network namespace answers the JVM on a loopback port")
    void httpThroughMappedPort(IsolatedEnvironment env) throws Exception {
        env.writeString("/tmp/index.html", "served from inside\n");
        env.start("httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/tmp");
        env.awaitPort(8080);

        int port = env.mappedPort(8080);

        assertThat(port).isNotEqualTo(8080);
        try (Socket socket = new Socket("127.0.0.1", port)) {
            OutputStream out = socket.getOutputStream();
            out.write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertThat(response).startsWith("HTTP/1.").contains("200").endsWith("served from inside\n");
        }
    }

    @Test
    @DisplayName("the forward listens on the host's 127.0.0.1 only, answers once a server starts later, and ends with "
            + "the environment: an open connection reads EOF and nothing listens on the port any more")
    void lifetime() throws Exception {
        Socket open;
        int port;
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            port = env.mappedPort(8080);
            assertThat(listening(port)).as("LISTEN sockets of the port").containsExactly("127.0.0.1");
            assertThat(get(port)).as("nothing listens inside yet: EOF").isEmpty();

            env.writeString("/www/index.html", "served\n");
            env.start("httpd", "-f", "-p", "8080", "-h", "/www");
            env.awaitPort(8080);
            assertThat(get(port)).startsWith("HTTP/1.").endsWith("served\n");

            env.start("nc", "-l", "-p", "7000");
            env.awaitPort(7000);
            open = new Socket("127.0.0.1", env.mappedPort(7000));
            open.getOutputStream().write('x');
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> env.processes().stream()
                            .anyMatch(p -> p.commandLine().equals("nc -l -p 7000")));
        }
        try (open) {
            assertThat(open.getInputStream().read())
                    .as("the open connection, after close()")
                    .isEqualTo(-1);
        }
        assertThat(listening(port)).isEmpty();
        assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
    }

    @Test
    @DisplayName("500 connections from 32 threads, and 64 MiB each way, go through a forward intact")
    void manyConnectionsAndLargePayloads(IsolatedEnvironment env) throws Exception {
        env.writeString("/www/index.html", "served\n");
        env.start("httpd", "-f", "-p", "8080", "-h", "/www");
        env.start("sh", "-c", "nc -l -p 7000 | md5sum > /tmp/in");
        env.start("sh", "-c", "head -c 67108864 /dev/zero | nc -l -p 7001");
        env.awaitPort(8080);
        env.awaitPort(7000);
        env.awaitPort(7001);

        int web = env.mappedPort(8080);
        ExecutorService pool = Executors.newFixedThreadPool(32);
        try {
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                answers.add(pool.submit(() -> get(web)));
            }
            for (Future<String> answer : answers) {
                assertThat(answer.get()).endsWith("served\n");
            }
        } finally {
            pool.shutdown();
        }

        byte[] chunk = new byte[1 << 20];
        new Random(42).nextBytes(chunk);
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        try (Socket in = new Socket("127.0.0.1", env.mappedPort(7000))) {
            for (int i = 0; i < 64; i++) {
                in.getOutputStream().write(chunk);
                md5.update(chunk);
            }
            in.shutdownOutput();
            assertThat(in.getInputStream().read()).isEqualTo(-1);
        }
        String sent = HexFormat.of().formatHex(md5.digest());
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> env.readString("/tmp/in").startsWith(sent));

        long received = 0;
        try (Socket out = new Socket("127.0.0.1", env.mappedPort(7001))) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = out.getInputStream().read(buf)) > 0; ) {
                for (int i = 0; i < n; i++) {
                    assertThat(buf[i]).isZero();
                }
                received += n;
            }
        }
        assertThat(received).isEqualTo(64L << 20);
    }

    /** The addresses of the host's LISTEN sockets on TCP {@code port}, from {@code /proc/net/tcp} and {@code tcp6}. */
    private static List<String> listening(int port) throws Exception {
        List<String> addresses = new ArrayList<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            for (String line : Files.readAllLines(Path.of(table))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 3 && f[3].equals("0A") && f[1].endsWith(String.format(":%04X", port))) {
                    String hex = f[1].substring(0, f[1].indexOf(':'));
                    addresses.add(hex.equals("0100007F") ? "127.0.0.1" : hex);
                }
            }
        }
        return addresses;
    }

    @Test
    @DisplayName("a port mapped again gives the same host port, the one an HTTP wait's message names")
    void samePortEveryCall(IsolatedEnvironment env) {
        int port = env.mappedPort(8080);

        for (int i = 0; i < 20; i++) {
            assertThat(env.mappedPort(8080)).isEqualTo(port);
        }
        assertThat(env.mappedPort(8081)).isNotEqualTo(port);
        IsolatedProcess quiet = env.start("sleep", "1000");
        assertThatThrownBy(() -> Wait.forHttp(8080, "/").waitUntilReady(env, quiet, Duration.ofMillis(500)))
                .isInstanceOf(ServiceNotReadyException.class)
                .hasMessageContaining(
                        "still waiting for GET http://127.0.0.1:" + port + "/ (port 8080 in the environment)");
    }

    @Test
    @DisplayName("the relay connects to 127.0.0.1 inside: a server on 0.0.0.0 answers, one bound only to the member's "
            + "eth0 address or to ::1 does not (the JVM reads an empty answer)")
    void loopbackInside() throws Exception {
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork();
                IsolatedEnvironment env = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .network(net, "web")
                        .start()) {
            env.writeString("/www/index.html", "served\n");
            env.start("httpd", "-f", "-p", "0.0.0.0:8080", "-h", "/www");
            env.start("httpd", "-f", "-p", env.address() + ":8081", "-h", "/www");
            env.start("httpd", "-f", "-p", "[::1]:8082", "-h", "/www");
            env.awaitPort(8080);
            env.awaitPort(8081);
            env.awaitPort(8082);

            assertThat(get(env.mappedPort(8080))).startsWith("HTTP/1.").endsWith("served\n");
            assertThat(get(env.mappedPort(8081))).isEmpty();
            assertThat(get(env.mappedPort(8082))).isEmpty();
        }
    }

    private static String get(int port) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.net.SocketException reset) { // bytes still in flight when the relay closed
            return "";
        }
    }

    @Test
    @DisplayName("without a network namespace the port is the host's own")
    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT})
    void hostNetwork(IsolatedEnvironment env) {
        assertThat(env.mappedPort(8080)).isEqualTo(8080);
    }

    @Test
    @DisplayName("a port that is not 1..65535 is refused naming it, with a network namespace or without")
    void notAPort(IsolatedEnvironment env) {
        for (int port : new int[] {0, -1, 65536}) {
            assertThatThrownBy(() -> env.mappedPort(port))
                    .isExactlyInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mappedPort(" + port + "): a TCP port is 1..65535");
        }
        try (IsolatedEnvironment hostNetwork = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(PID, MOUNT)
                .start()) {
            assertThatThrownBy(() -> hostNetwork.mappedPort(0))
                    .isExactlyInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mappedPort(0): a TCP port is 1..65535");
        }
    }
}
