package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
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
