package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("exposeHostPort: a server of the host's loopback reached from inside an environment")
class HostPortTests {
    private HttpServer mock;
    private HttpServer other;

    @BeforeEach
    void startServers() throws IOException {
        mock = server("from the JVM's mock\n");
        other = server("never to be reached\n");
    }

    @AfterEach
    void stopServers() {
        mock.stop(0);
        other.stop(0);
    }

    @Test
    @DisplayName(
            "host.isolated.internal:PORT reaches the exposed port; another host port, the env's own 127.0.0.1 and a "
                    + "route to the host stay out")
    @Isolated(rootfs = "busybox.tar")
    void onlyTheExposedPort(IsolatedEnvironment env) {
        int port = port(mock);
        env.exposeHostPort(port);
        env.exposeHostPort(port); // a no-op

        assertThat(env.exec("wget", "-qO-", "http://host.isolated.internal:" + port + "/"))
                .succeeded()
                .stdout()
                .isEqualTo("from the JVM's mock\n");
        assertThat(env.readString("/etc/hosts")).contains("127.213.0.1\thost.isolated.internal\n");
        // the same connect (nc exits 0 once connected), to the exposed port and to others
        assertThat(env.exec(connect("host.isolated.internal", port))).succeeded();
        assertThat(env.exec(connect("host.isolated.internal", port(other)))).failed();
        assertThat(env.exec(connect("127.0.0.1", port)))
                .as("the env's own loopback")
                .failed();
        assertThat(env.exec("cat", "/proc/net/route").stdout().lines().skip(1).toList())
                .as("routes")
                .isEmpty();
    }

    @Test
    @DisplayName("exposeHostPorts on the builder: a member of a private network reaches the host; another member, "
            + "which exposed nothing, does not; exposing a port keeps the lines of a member's /etc/hosts")
    void onAPrivateNetwork() {
        int port = port(mock);
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork();
                IsolatedEnvironment app = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .namespaces(PID, MOUNT, UTS, NET)
                        .hostname("app")
                        .network(net)
                        .exposeHostPorts(port)
                        .start();
                IsolatedEnvironment peer = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .namespaces(PID, MOUNT, UTS, NET)
                        .hostname("peer")
                        .network(net)
                        .start()) {
            assertThat(app.exec("wget", "-qO-", "http://host.isolated.internal:" + port + "/"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("from the JVM's mock\n");
            assertThat(app.readString("/etc/hosts")).contains("\tpeer\n").contains("\thost.isolated.internal\n");
            assertThat(peer.readString("/etc/hosts")).doesNotContain("host.isolated.internal");
            assertThat(peer.exec(connect("127.213.0.1", port))).failed();
            assertThat(peer.exec(connect(app.address(), port))).failed();

            assertThat(peer.exec("sh", "-c", "echo '10.0.0.9\tdb' >> /etc/hosts"))
                    .succeeded();
            peer.exposeHostPort(port);
            assertThat(peer.readString("/etc/hosts"))
                    .as("a member's lines, also those its commands added, stay when it exposes a port")
                    .isEqualTo("127.0.0.1\tlocalhost\n::1\tlocalhost\n" + app.address() + "\tapp\n" + peer.address()
                            + "\tpeer\n10.0.0.9\tdb\n127.213.0.1\thost.isolated.internal\n");
        }
    }

    @Test
    @DisplayName("a port the environment's own server holds on 0.0.0.0 cannot be exposed; the error says so")
    @Isolated(rootfs = "busybox.tar")
    void portTakenInside(IsolatedEnvironment env) {
        int port = port(mock);
        env.start("nc", "-l", "-p", Integer.toString(port));
        env.awaitPort(port);

        assertThatThrownBy(() -> env.exposeHostPort(port))
                .isInstanceOf(EnvironmentSetupException.class)
                .hasMessageContaining("stage 'forward'")
                .hasMessageContaining("127.213.0.1:" + port)
                .hasMessageContaining("already listens on this port");
        assertThatThrownBy(() -> env.exposeHostPort(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("exposeHostPort(0): a TCP port is 1..65535");
    }

    @Test
    @DisplayName("an exposed port is not a port of the environment: awaitPort and Wait.forPort wait for a server "
            + "inside, and the timeout's list of listening ports leaves the relay out")
    @Isolated(rootfs = "busybox.tar")
    void exposedPortIsNotListeningInside(IsolatedEnvironment env) {
        int port = port(mock);
        env.exposeHostPort(port);
        IsolatedProcess quiet = env.start("sleep", "1000");

        assertThatThrownBy(() -> Wait.forPort(port).waitUntilReady(env, quiet, Duration.ofMillis(300)))
                .isInstanceOf(ServiceNotReadyException.class)
                .hasMessageContaining("listening now: []");

        env.writeString("/www/index.html", "served inside\n");
        env.start("httpd", "-f", "-p", "127.0.0.1:" + port, "-h", "/www");
        env.awaitPort(port);
        assertThat(env.exec("wget", "-qO-", "http://127.0.0.1:" + port + "/"))
                .succeeded()
                .stdout()
                .isEqualTo("served inside\n");
        assertThat(env.exec("wget", "-qO-", "http://host.isolated.internal:" + port + "/"))
                .succeeded()
                .stdout()
                .isEqualTo("from the JVM's mock\n");
    }

    @Test
    @DisplayName("an environment flooding an exposed port holds at most 256 relays at once; the others wait in the "
            + "backlog and go through as relays end")
    @Isolated(rootfs = "busybox.tar")
    void floodIsBounded(IsolatedEnvironment env) throws Exception {
        try (java.net.ServerSocket holder = new java.net.ServerSocket(0, 1000, InetAddress.getLoopbackAddress())) {
            java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
            Thread acceptor = new Thread(() -> {
                while (!holder.isClosed()) {
                    try {
                        java.net.Socket s = holder.accept();
                        accepted.incrementAndGet();
                        Thread holding = new Thread(() -> {
                            try (s) {
                                s.getInputStream().readAllBytes(); // until the client inside is gone
                            } catch (IOException ignored) {
                                // the test is over
                            }
                        });
                        holding.setDaemon(true);
                        holding.start();
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            int port = holder.getLocalPort();
            env.exposeHostPort(port);

            // 300 clients whose stdin (a FIFO held open) never ends
            env.start(
                    "sh",
                    "-c",
                    "mkfifo /tmp/in; exec 3<>/tmp/in; for i in $(seq 300); do nc host.isolated.internal " + port
                            + " <&3 & done; wait");
            String remote = String.format("0100D57F:%04X", port); // 127.213.0.1:port in /proc/net/tcp
            Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(120))
                    .pollInterval(java.time.Duration.ofSeconds(1))
                    .until(() -> env.exec("cat", "/proc/net/tcp")
                                    .stdout()
                                    .lines()
                                    .filter(l -> l.contains(" " + remote + " 01 "))
                                    .count()
                            == 300);
            Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(60))
                    .untilAsserted(() -> assertThat(accepted.get()).isGreaterThanOrEqualTo(256));
            assertThat(accepted.get())
                    .as("all 300 connected inside, 256 relayed")
                    .isEqualTo(256);

            assertThat(env.exec("sh", "-c", "kill $(pidof nc)")).succeeded(); // every relay ends, the backlog moves
            Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(60))
                    .untilAsserted(() -> assertThat(accepted.get()).isEqualTo(300));
        }
    }

    @Test
    @DisplayName("a read-only rootfs: /etc/hosts cannot name host.isolated.internal, the error says to connect to "
            + "127.213.0.1, which works")
    @Isolated(rootfs = "busybox.tar", readOnlyRootfs = true)
    void readOnlyRootfs(IsolatedEnvironment env) {
        int port = port(mock);
        assertThatThrownBy(() -> env.exposeHostPort(port))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("exposeHostPort(" + port + "): the port is reached on 127.213.0.1:" + port
                        + " inside, but /etc/hosts could not name host.isolated.internal (")
                .hasMessageEndingWith("); connect to 127.213.0.1 instead");
        assertThat(env.exec("wget", "-qO-", "http://127.213.0.1:" + port + "/"))
                .succeeded()
                .stdout()
                .isEqualTo("from the JVM's mock\n");
    }

    /** A fixed port for the annotation; the test's server takes it once the environment exists. */
    static final int FIXED_PORT = 47321;

    @Test
    @DisplayName("@Isolated(exposeHostPorts = PORT): the host's server on that port is reached from the start")
    @Isolated(rootfs = "busybox.tar", exposeHostPorts = FIXED_PORT)
    void fromTheAnnotation(IsolatedEnvironment env) throws IOException {
        HttpServer fixed = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), FIXED_PORT), 0);
        fixed.createContext("/", exchange -> {
            exchange.sendResponseHeaders(200, 6);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write("fixed\n".getBytes(StandardCharsets.UTF_8));
            }
        });
        fixed.start();
        try {
            assertThat(env.exec("wget", "-qO-", "http://host.isolated.internal:" + FIXED_PORT + "/"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("fixed\n");
            assertThat(env.exec(connect("host.isolated.internal", port(mock)))).failed();
        } finally {
            fixed.stop(0);
        }
    }

    @Test
    @DisplayName("without NET the environment is on the host's network: host.isolated.internal is 127.0.0.1")
    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT})
    void hostNetwork(IsolatedEnvironment env) {
        env.exposeHostPort(port(mock));
        assertThat(env.readString("/etc/hosts")).contains("127.0.0.1\thost.isolated.internal\n");
        assertThat(env.exec("wget", "-qO-", "http://host.isolated.internal:" + port(mock) + "/"))
                .succeeded()
                .stdout()
                .isEqualTo("from the JVM's mock\n");
    }

    @Test
    @DisplayName("rootless (uid 65534, a child JVM): the exposed port is reached, another is not, nothing is left")
    void asNobody(@TempDir Path dir) throws IOException, InterruptedException {
        Set<Long> nobodyBefore = RootlessLeftovers.processesOfNobody();

        List<String> lines = NobodyJvm.runFixture(dir, RootlessHostPortCase.class);

        assertThat(lines).hasSize(2).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
        Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(RootlessLeftovers.find(nobodyBefore, dir, RootlessHostPortCase.MARKER))
                        .isEmpty());
    }

    /** Run by uid 65534. */
    static class RootlessHostPortCase {
        static final String MARKER = "4714";

        @Test
        void exposedPortOnly() throws IOException {
            HttpServer mock = server("from the JVM's mock\n");
            HttpServer other = server("never\n");
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                env.start("sleep", MARKER);
                env.exposeHostPort(port(mock));
                assertThat(env.exec("wget", "-qO-", "http://host.isolated.internal:" + port(mock) + "/"))
                        .succeeded()
                        .stdout()
                        .isEqualTo("from the JVM's mock\n");
                assertThat(env.exec(connect("host.isolated.internal", port(mock))))
                        .succeeded();
                assertThat(env.exec(connect("host.isolated.internal", port(other))))
                        .failed();
            } finally {
                mock.stop(0);
                other.stop(0);
            }
        }

        @Test
        void onAPrivateNetwork() throws IOException {
            HttpServer mock = server("mock\n");
            try (IsolatedNetwork net = IsolatedNetwork.newNetwork();
                    IsolatedEnvironment app = IsolatedEnvironment.builder()
                            .rootfs("busybox.tar")
                            .network(net, "app")
                            .exposeHostPorts(port(mock))
                            .start()) {
                assertThat(app.exec("wget", "-qO-", "http://host.isolated.internal:" + port(mock) + "/"))
                        .succeeded()
                        .stdout()
                        .isEqualTo("mock\n");
            } finally {
                mock.stop(0);
            }
        }
    }

    static HttpServer server(String body) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        return server;
    }

    /** nc connects, sends nothing and quits: exit 0 once connected, 1 when the connection failed. */
    static Command connect(String host, int port) {
        return Command.of("nc", "-w", "2", host, Integer.toString(port)).withStdin("");
    }

    static int port(HttpServer server) {
        return server.getAddress().getPort();
    }
}
