package dev.isolated;

import static dev.isolated.LinuxNamespace.CGROUP;
import static dev.isolated.LinuxNamespace.IPC;
import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11: with the default settings an environment has a network of its own, so the host's loopback services
 * and abstract unix sockets are out of reach; leaving {@code NET} out gives the host's network back (which proves
 * that the probe would have seen them).
 */
@DisplayName("the default namespaces keep the host's network out of reach")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@Isolated(rootfs = "busybox.tar")
class DefaultNetworkTests {
    private static final Path SOURCE = Path.of("src/test/c/net-probe.c").toAbsolutePath();

    @TempDir
    static Path tmp;

    static Path probe;
    static ServerSocket server;
    static Process abstractListener;
    static String abstractName;

    @BeforeAll
    static void hostServices() throws Exception {
        probe = tmp.resolve("net-probe");
        Process gcc = new ProcessBuilder(
                        "gcc", "-static", "-O2", "-Wall", "-Werror", "-o", probe.toString(), SOURCE.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(gcc.waitFor()).as("gcc %s: %s", SOURCE, output).isZero();

        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(
                () -> {
                    while (!server.isClosed()) {
                        try {
                            server.accept().close(); // connected: that is all a probe checks
                        } catch (IOException closed) {
                            return;
                        }
                    }
                },
                "loopback-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();

        abstractName = "isolated-test-" + UUID.randomUUID();
        abstractListener = new ProcessBuilder(probe.toString(), "listen-abstract", abstractName).start();
        String ready = new BufferedReader(
                        new InputStreamReader(abstractListener.getInputStream(), StandardCharsets.US_ASCII))
                .readLine();
        assertThat(ready).as("the host's abstract socket listener").isEqualTo("ready");
    }

    @AfterAll
    static void stopHostServices() throws Exception {
        if (server != null) {
            server.close();
        }
        if (abstractListener != null) {
            abstractListener.destroyForcibly().waitFor();
        }
    }

    @Test
    @DisplayName("by default the namespaces are PID, MOUNT, UTS, IPC, NET and CGROUP")
    void defaultNamespaces(IsolatedEnvironment env) {
        assertThat(env.namespaces()).contains(PID, MOUNT, UTS, IPC, NET, CGROUP);
        assertThat(env.exec("cat", "/proc/self/cgroup").stdout())
                .as("its own cgroup is its root")
                .contains("::/\n");
    }

    @Test
    @DisplayName("by default the host's 127.0.0.1 server and abstract unix socket are out of reach, only lo exists")
    void hostNetworkOutOfReach(IsolatedEnvironment env) {
        env.copyIn(probe, "/net-probe");

        ExecResult tcp = env.exec("/net-probe", "tcp", "127.0.0.1", String.valueOf(server.getLocalPort()));
        ExecResult unix = env.exec("/net-probe", "abstract", abstractName);
        ExecResult dev = env.exec("cat", "/proc/net/dev");

        assertThat(tcp.exitCode())
                .as("connecting to the host's 127.0.0.1:%d: %s", server.getLocalPort(), tcp)
                .isEqualTo(1);
        assertThat(tcp.stderr()).contains("Connection refused");
        assertThat(unix.exitCode())
                .as("connecting to the host's abstract socket: %s", unix)
                .isEqualTo(1);
        assertThat(unix.stderr()).contains("Connection refused");
        assertThat(interfaces(dev.stdout())).containsExactly("lo");
        assertThat(env.exec("ip", "-o", "link", "show", "lo").stdout())
                .as("lo is up")
                .contains(",UP");
    }

    @Test
    @DisplayName("without NET the same probes reach the host's 127.0.0.1 server and abstract unix socket")
    void withoutNetTheHostNetworkIsReachable() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(PID, MOUNT, UTS, IPC)
                .start()) {
            env.copyIn(probe, "/net-probe");

            ExecResult tcp = env.exec("/net-probe", "tcp", "127.0.0.1", String.valueOf(server.getLocalPort()));
            ExecResult unix = env.exec("/net-probe", "abstract", abstractName);

            assertThat(tcp.exitCode()).as("%s", tcp).isZero();
            assertThat(unix.exitCode()).as("%s", unix).isZero();
            assertThat(interfaces(env.exec("cat", "/proc/net/dev").stdout()))
                    .contains("lo")
                    .hasSizeGreaterThan(1);
        }
    }

    /** @return the interface names of a {@code /proc/net/dev} text */
    private static java.util.List<String> interfaces(String procNetDev) {
        return procNetDev
                .lines()
                .skip(2)
                .map(line -> line.substring(0, line.indexOf(':')).trim())
                .toList();
    }
}
