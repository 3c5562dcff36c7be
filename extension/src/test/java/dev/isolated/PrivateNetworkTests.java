package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.USER;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("private networks between environments")
class PrivateNetworkTests {

    @Test
    @DisplayName("a client in one environment reaches a server in another by name; nothing touches the host")
    void clientReachesServerByName() throws IOException {
        List<String> hostInterfaces = hostInterfaces();
        try (IsolatedEnvironment server = onNetwork("orders", "server");
                IsolatedEnvironment client = onNetwork("orders", "client");
                IsolatedEnvironment outsider = onNetwork("other", "outsider")) {
            // nc -l needs an open stdin to keep the connection; sleep provides one
            server.start("sh", "-c", "sleep 60 | nc -l -p 7000 > /tmp/received");
            server.awaitPort(7000);

            assertThat(client.exec("sh", "-c", "echo order-42 | nc server 7000"))
                    .succeeded();
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> server.readString("/tmp/received").equals("order-42\n"));
            assertThat(client.readString("/etc/hosts"))
                    .contains(server.address() + "\tserver")
                    .contains(client.address() + "\tclient")
                    .doesNotContain("outsider");
            assertThat(outsider.exec("sh", "-c", "echo x | nc -w 1 " + server.address() + " 7000"))
                    .failed();
            assertThat(hostInterfaces()).isEqualTo(hostInterfaces);
        }
        assertThat(hostInterfaces()).isEqualTo(hostInterfaces);
    }

    @Test
    @DisplayName("address() of an environment on no network says how to put it on one")
    void noNetwork() {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThatThrownBy(env::address).hasMessageContaining("network(name)");
        }
    }

    @Test
    @DisplayName("rootless (uid 65534, a child JVM): the same network by name, no host interface, nothing left behind")
    void asNobody(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> hostLinks = ipLinkNames();
        Set<Long> nobodyBefore = RootlessLeftovers.processesOfNobody();

        List<String> lines = NobodyJvm.runFixture(dir, RootlessNetworkCase.class);

        assertThat(lines).hasSize(3).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
        assertThat(ipLinkNames()).as("the host's interfaces (ip -o link)").isEqualTo(hostLinks);
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(RootlessLeftovers.find(nobodyBefore, dir, RootlessNetworkCase.MARKER))
                        .isEmpty());
    }

    /** Run by uid 65534: each env gets a user namespace, nested in its network's. */
    static class RootlessNetworkCase {
        /** In the server's command line, so that a leftover of it can be told from others' processes. */
        static final String MARKER = "4713";

        @Test
        void serverReachedByNameOtherNetworkKeptOut() throws IOException {
            try (IsolatedEnvironment server = onNetwork("orders", "server", UserMapping.ROOT);
                    IsolatedEnvironment client = onNetwork("orders", "client", UserMapping.SELF);
                    IsolatedEnvironment outsider = onNetwork("other", "outsider", UserMapping.ROOT)) {
                assertThat(server.namespaces()).contains(USER);
                server.start("sh", "-c", "sleep " + MARKER + " | nc -l -p 7000 > /tmp/received");
                server.awaitPort(7000);

                assertThat(client.exec("sh", "-c", "id -u; echo order-42 | nc server 7000"))
                        .succeeded()
                        .stdout()
                        .isEqualTo(NobodyJvm.NOBODY + "\n");
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> server.readString("/tmp/received").equals("order-42\n"));
                assertThat(outsider.exec("sh", "-c", "echo x | nc -w 1 " + server.address() + " 7000"))
                        .failed()
                        .stderr()
                        .contains("unreachable");
                // the helper holds no namespace of an env (it reaches them through the init's pid): only the networks'
                assertThat(helperNamespaces("net")).as("2 switches' netns").hasSize(2);
                assertThat(helperNamespaces("user")).as("2 networks' user ns").hasSize(2);
            }
            assertThat(helperNamespaces("net")).isEmpty();
            assertThat(helperNamespaces("user")).isEmpty();
        }

        @Test
        void mappedPortAndProcessBuilderReachAMember() throws Exception {
            int[] mapped = new int[2];
            try (IsolatedEnvironment web = onNetwork("ports", "web", UserMapping.ROOT);
                    IsolatedEnvironment alone =
                            IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                web.writeString("/tmp/index.html", "served from a network member\n");
                web.start("httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/tmp");
                web.awaitPort(8080);
                alone.start("nc", "-l", "-p", "7000");
                alone.awaitPort(7000);
                mapped[1] = alone.mappedPort(7000);
                try (Socket socket = new Socket("127.0.0.1", mapped[1])) {
                    socket.getOutputStream().write("to a default environment\n".getBytes(StandardCharsets.US_ASCII));
                }
                mapped[0] = web.mappedPort(8080);
                try (Socket socket = new Socket("127.0.0.1", mapped[0])) {
                    socket.getOutputStream()
                            .write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                            .contains("200")
                            .endsWith("served from a network member\n");
                }
                Process hostname = web.processBuilder("hostname").start();
                assertThat(new String(hostname.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                        .isEqualTo("web\n");
                assertThat(hostname.waitFor()).isZero();
            }
            // the forwards ended with their environments, and the namespaces they held are let go
            for (int port : mapped) {
                assertThatThrownBy(() -> new Socket("127.0.0.1", port).close())
                        .isInstanceOf(java.net.ConnectException.class);
            }
            assertThat(helperNamespaces("net")).isEmpty();
            assertThat(helperNamespaces("user")).isEmpty();
        }

        @Test
        void membersMustAgreeOnSubordinateIds() {
            try (IsolatedEnvironment first = onNetwork("mixed", "first", UserMapping.ROOT)) {
                assertThat(first.address()).startsWith("10.213.");
                assertThatThrownBy(() -> onNetwork("mixed", "second", UserMapping.SUBIDS))
                        .isInstanceOf(EnvironmentSetupException.class)
                        .hasMessageContaining("stage 'network'")
                        .hasMessageContaining("`mixed` needs user-map=root or self (userMapping = ROOT or SELF)");
            }
        }

        /** The helper's open fds of KIND namespaces ({@code net:[...]}), without its own. */
        private static List<String> helperNamespaces(String kind) throws IOException {
            ProcessHandle helper = ProcessHandle.current()
                    .children()
                    .filter(p -> p.info().command().orElse("").endsWith("isolated-helper"))
                    .findFirst()
                    .orElseThrow();
            return dev.isolated.internal.helper.NamespaceFds.of(helper.pid(), kind);
        }
    }

    private static IsolatedEnvironment onNetwork(String network, String hostname) {
        return onNetwork(network, hostname, UserMapping.ROOT);
    }

    private static IsolatedEnvironment onNetwork(String network, String hostname, UserMapping mapping) {
        return IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(PID, MOUNT, UTS, NET)
                .hostname(hostname)
                .userMapping(mapping)
                .network(network)
                .start();
    }

    private static List<String> hostInterfaces() throws IOException {
        try (Stream<Path> devs = Files.list(Paths.get("/sys/class/net"))) {
            return devs.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The interface names of {@code ip -o link} on the host, sorted. */
    private static List<String> ipLinkNames() throws IOException, InterruptedException {
        Process ip =
                new ProcessBuilder("ip", "-o", "link").redirectErrorStream(true).start();
        String out = new String(ip.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(ip.waitFor()).as(out).isZero();
        return out.lines()
                .map(line -> line.split(":")[1].trim().replaceAll("@.*", ""))
                .sorted()
                .toList();
    }
}
