package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Paths;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("resource limits")
class ResourceLimitTests {

    @Test
    @DisplayName("a command past the memory limit is reported as OOM-killed, not a mysterious 137")
    @Isolated(rootfs = "busybox.tar")
    @Limits(memoryBytes = 32 << 20)
    void oomKill(IsolatedEnvironment env) {
        ExecResult r = env.exec("sh", "-c", "tail /dev/zero");

        assertThat(r.oomKilled()).isTrue();
        assertThat(r).exitedWith(137);
        assertThat(r.toString()).contains("OOM killer");
        ResourceUsage usage = env.resourceUsage();
        assertThat(usage.oomKills()).isGreaterThanOrEqualTo(1);
        assertThat(usage.memoryPeakBytes()).isGreaterThan(16 << 20).isLessThanOrEqualTo(33 << 20);
        assertThat(env.exec("echo", "still usable")).succeeded();
    }

    @Test
    @DisplayName("a pids limit stops a fork storm inside, and the host is unaffected")
    @Isolated(rootfs = "busybox.tar")
    @Limits(pids = 20)
    void pidsLimit(IsolatedEnvironment env) {
        ExecResult r = env.exec("sh", "-c", "for i in $(seq 100); do sleep 300 & done 2>&1; echo done");

        assertThat(r.stdout() + r.stderr()).contains("can't fork");
        assertThat(env.resourceUsage().processes()).isLessThanOrEqualTo(20);
    }

    @Test
    @DisplayName("rlimits from @Limits apply to every command, and need no cgroup")
    @Isolated(rootfs = "busybox.tar")
    @Limits(openFiles = 77, fileSizeBytes = 4096)
    void rlimits(IsolatedEnvironment env) {
        assertThat(env.exec("sh", "-c", "ulimit -n")).stdout().isEqualTo("77\n");
        assertThat(env.exec("sh", "-c", "head -c 10000 /dev/zero > /tmp/f")).failed();
        org.assertj.core.api.Assertions.assertThatThrownBy(env::resourceUsage).hasMessageContaining("@Limits");
    }

    @Test
    @DisplayName("@ClockOffsets(monotonicSeconds) shifts CLOCK_MONOTONIC in the environment's time namespace")
    @Isolated(rootfs = "busybox.tar")
    @ClockOffsets(monotonicSeconds = 1000)
    void monotonicOffset(IsolatedEnvironment env) {
        assertThat(env.namespaces()).contains(LinuxNamespace.TIME);
        assertThat(env.exec("cat", "/proc/self/timens_offsets"))
                .succeeded()
                .stdout()
                .matches("monotonic\\s+1000\\s+0\nboottime\\s+0\\s+0\n");
    }

    @Test
    @DisplayName("the boot-time clock can be shifted; the host's is not")
    @Isolated(rootfs = "busybox.tar")
    @ClockOffsets(boottimeSeconds = 30 * 86400)
    void clockOffsets(IsolatedEnvironment env) throws Exception {
        double host =
                Double.parseDouble(Files.readString(Paths.get("/proc/uptime")).split(" ")[0]);
        double inside =
                Double.parseDouble(env.exec("cat", "/proc/uptime").stdout().split(" ")[0]);

        assertThat(env.namespaces()).contains(LinuxNamespace.TIME);
        assertThat(inside - host).isBetween(30 * 86400.0 - 5, 30 * 86400.0 + 5);
    }

    @Test
    @DisplayName(
            "by default root inside has Docker's capabilities: it binds port 80, but cannot mount or set the hostname")
    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.UTS, LinuxNamespace.NET})
    void dockerCapabilities(IsolatedEnvironment env) throws Exception {
        assertThat(env.exec("sh", "-c", "mkdir -p /mnt/x && mount -t tmpfs t /mnt/x"))
                .failed()
                .stderr()
                .containsIgnoringCase("permission denied");
        assertThat(env.exec("hostname", "renamed")).failed();
        assertThat(env.exec("grep", "-E", "^Cap(Eff|Bnd):", "/proc/self/status"))
                .succeeded()
                .stdout()
                .as("Docker's 14 capabilities, CHOWN..AUDIT_WRITE")
                .isEqualTo("CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n");
        IsolatedProcess server = env.start(Command.of("nc", "-l", "-p", "80").withOpenStdin());
        env.awaitPort(80); // NET_BIND_SERVICE
        assertThat(server.isAlive()).isTrue();
        assertThat(env.exec("grep", "NoNewPrivs", "/proc/self/status")).stdout().contains("1");
        Process viaBuilder = env.processBuilder("sh", "-c", "mount -t tmpfs t /mnt/x")
                .redirectErrorStream(true)
                .start();
        assertThat(new String(viaBuilder.getInputStream().readAllBytes()))
                .as("processBuilder keeps the same capabilities")
                .containsIgnoringCase("permission denied");
        assertThat(viaBuilder.waitFor()).isNotZero();
    }

    @Test
    @DisplayName("capabilities = ALL: root inside can mount and set the hostname, in its own namespaces")
    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.UTS},
            capabilities = Capabilities.ALL)
    void allCapabilities(IsolatedEnvironment env) {
        assertThat(env.exec("sh", "-c", "mkdir -p /mnt/x && mount -t tmpfs t /mnt/x && hostname renamed && hostname"))
                .succeeded()
                .stdout()
                .isEqualTo("renamed\n");
        assertThat(env.exec("grep", "NoNewPrivs", "/proc/self/status")).stdout().contains("1");
    }

    @Test
    @DisplayName("a seccomp filter applies to every command of the environment")
    void seccomp(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path filter = Files.write(dir.resolve("no-mkdir.bpf"), SeccompFilters.denyMkdir());
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .seccompFilter(filter)
                .start()) {
            assertThat(env.exec("mkdir", "/tmp/d")).failed().stderr().contains("Operation not permitted");
            assertThat(env.exec("touch", "/tmp/f")).succeeded();
        }
    }

    @Test
    @DisplayName("resourceUsage without a cgroup says how to get one")
    @Isolated(rootfs = "busybox.tar")
    void noCgroup(IsolatedEnvironment env) {
        org.assertj.core.api.Assertions.assertThatThrownBy(env::resourceUsage).hasMessageContaining("@Limits");
    }
}
