package dev.isolated;

import static dev.isolated.Namespace.MOUNT;
import static dev.isolated.Namespace.NET;
import static dev.isolated.Namespace.PID;
import static dev.isolated.Namespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

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

            assertThat(client.exec("sh", "-c", "echo order-42 | nc server 7000")).succeeded();
            Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> server.readString("/tmp/received").equals("order-42\n"));
            assertThat(client.readString("/etc/hosts")).contains(server.address() + "\tserver")
                    .contains(client.address() + "\tclient").doesNotContain("outsider");
            assertThat(outsider.exec("sh", "-c", "echo x | nc -w 1 " + server.address() + " 7000")).failed();
            assertThat(hostInterfaces()).isEqualTo(hostInterfaces);
        }
        assertThat(hostInterfaces()).isEqualTo(hostInterfaces);
    }

    @Test
    @DisplayName("address() of an environment on no network says how to put it on one")
    void noNetwork() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThatThrownBy(env::address).hasMessageContaining("network(name)");
        }
    }

    private static IsolatedEnvironment onNetwork(String network, String hostname) {
        return IsolatedEnvironment.builder().rootfs("busybox.tar").namespaces(PID, MOUNT, UTS, NET).hostname(hostname)
                .network(network).start();
    }

    private static List<String> hostInterfaces() throws IOException {
        try (Stream<Path> devs = Files.list(Paths.get("/sys/class/net"))) {
            return devs.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
