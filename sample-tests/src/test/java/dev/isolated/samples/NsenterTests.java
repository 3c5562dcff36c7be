package dev.isolated.samples;

import static dev.isolated.LinuxNamespace.IPC;
import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Capabilities;
import dev.isolated.ExecResult;
import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Walk-through step 7: {@code nsenter} joins a running container's namespaces, all of them or some. */
@Isolated(
        rootfs = "busybox.tar",
        namespaces = {PID, MOUNT, UTS, IPC, NET},
        hostname = "daemon-box",
        capabilities = Capabilities.ALL) // the daemon mounts a tmpfs
class NsenterTests {

    @Test
    void aSecondCommandSeesTheSamePid1MountsAndHostnameAsARunningDaemon(IsolatedEnvironment env) {
        IsolatedProcess daemon = env.start(
                "sh",
                "-c",
                "mkdir -p /run/d && mount -t tmpfs daemon-state /run/d "
                        + "&& echo up > /run/d/state && exec sleep 1000");
        awaitFile(env, "/run/d/state");

        ExecResult ps = env.exec("ps", "-o", "pid,comm");
        assertThat(ps.stdoutLines()).extracting(String::strip).contains("1 isolated-init", daemon.pid() + " sleep");
        assertThat(env.exec("cat", "/run/d/state")).succeeded().stdout().isEqualTo("up\n");
        assertThat(env.exec("hostname")).stdout().isEqualTo("daemon-box\n");
        assertThat(daemon.isAlive()).isTrue();
    }

    @Test
    void withoutNetACommandSeesTheHostsInterfacesWithNetOnlyLo(IsolatedEnvironment env) throws IOException {
        ExecResult inside = env.exec("ip", "-o", "link");
        assertThat(interfaces(inside)).containsExactly("lo");
        assertThat(inside.stdout()).contains("UP");

        ExecResult hostNet = env.enter(PID, MOUNT, UTS, IPC).exec("ip", "-o", "link");
        assertThat(hostNet).succeeded();
        assertThat(interfaces(hostNet)).containsExactlyInAnyOrderElementsOf(hostInterfaces());
        assertThat(env.enter(PID, MOUNT, UTS, IPC).exec("hostname")).stdout().isEqualTo("daemon-box\n");
        assertThat(interfaces(env.enter().exec("ip", "-o", "link")))
                .as("enter() joins all")
                .containsExactly("lo");
    }

    private static void awaitFile(IsolatedEnvironment env, String path) {
        org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(10))
                .until(() -> env.exec("test", "-e", path).exitCode() == 0);
    }

    private static List<String> interfaces(ExecResult ipLink) {
        // "1: lo: <LOOPBACK,UP,LOWER_UP> mtu ..." -> "lo"; "3: eth0@if4: ..." -> "eth0"
        return ipLink.stdoutLines().stream()
                .map(l -> l.split(":")[1].strip().split("@")[0])
                .collect(Collectors.toList());
    }

    private static List<String> hostInterfaces() throws IOException {
        try (Stream<Path> devs = Files.list(Paths.get("/sys/class/net"))) {
            return devs.map(p -> p.getFileName().toString()).collect(Collectors.toList());
        }
    }
}
