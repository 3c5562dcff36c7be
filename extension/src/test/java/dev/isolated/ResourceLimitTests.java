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
    @DisplayName("memoryBytes, pids and cpuPercent land in the environment's cgroup files (v1 or v2)")
    void cgroupFiles() throws Exception {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .memoryBytes(64 << 20)
                .pids(30)
                .cpuPercent(50)
                .start()) {
            java.util.Map<String, String> dirs = new java.util.HashMap<>();
            for (String line : Files.readAllLines(Paths.get("/proc/" + env.initHostPid() + "/cgroup"))) {
                String[] f = line.split(":", 3);
                for (String controller : f[1].split(",")) {
                    dirs.put(controller, f[2]);
                }
            }
            if (dirs.containsKey("memory")) { // v1: a hierarchy per controller
                assertThat(cgroupFile("memory", dirs, "memory.limit_in_bytes")).isEqualTo("67108864");
                assertThat(cgroupFile("pids", dirs, "pids.max")).isEqualTo("30");
                assertThat(cgroupFile("cpu", dirs, "cpu.cfs_quota_us") + "/"
                                + cgroupFile("cpu", dirs, "cpu.cfs_period_us"))
                        .isEqualTo("50000/100000");
            } else {
                assertThat(cgroupFile("", dirs, "memory.max")).isEqualTo("67108864");
                assertThat(cgroupFile("", dirs, "pids.max")).isEqualTo("30");
                assertThat(cgroupFile("", dirs, "cpu.max")).isEqualTo("50000 100000");
            }
        }
    }

    private static String cgroupFile(String controller, java.util.Map<String, String> dirs, String file)
            throws java.io.IOException {
        String hierarchy = controller.isEmpty() ? "" : "/" + controller;
        return Files.readString(Paths.get("/sys/fs/cgroup" + hierarchy + dirs.get(controller), file))
                .strip();
    }

    @Test
    @DisplayName("a shell that passes on its child's OOM kill as exit code 137 is reported OOM-killed too")
    @Isolated(rootfs = "busybox.tar")
    @Limits(memoryBytes = 32 << 20)
    void oomKilledChild(IsolatedEnvironment env) {
        ExecResult r = env.exec("sh", "-c", "tail /dev/zero; exit $?");

        assertThat(r).exitedWith(137);
        assertThat(r.signal()).isEmpty();
        assertThat(r.oomKilled()).isTrue();
        ExecResult survived = env.exec("sh", "-c", "tail /dev/zero; echo survived");
        assertThat(survived).succeeded();
        assertThat(survived.oomKilled())
                .as("a command that went on after its child's kill")
                .isFalse();
        assertThat(env.exec("sh", "-c", "exit 137").oomKilled())
                .as("137 without an OOM kill")
                .isFalse();
        assertThat(env.resourceUsage().oomKills()).isEqualTo(2);
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
    @DisplayName("cpuSeconds kills a busy process with SIGKILL (137, not an OOM kill); fileSizeBytes stops a write at "
            + "the limit with SIGXFSZ (153); every Rlimit shows in /proc/self/limits")
    void rlimitsAsTheCommandSeesThem() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .cpuSeconds(1)
                .fileSizeBytes(4096)
                .openFiles(100)
                .rlimit(Rlimit.NPROC, 500)
                .rlimit(Rlimit.AS, 1L << 32)
                .rlimit(Rlimit.STACK, 4 << 20)
                .rlimit(Rlimit.MEMLOCK, 1 << 20)
                .start()) {
            assertThat(env.exec("cat", "/proc/self/limits"))
                    .succeeded()
                    .stdout()
                    .containsPattern("Max cpu time +1 +1 +seconds")
                    .containsPattern("Max file size +4096 +4096 +bytes")
                    .containsPattern("Max open files +100 +100 +files")
                    .containsPattern("Max processes +500 +500 +processes")
                    .containsPattern("Max address space +4294967296 +4294967296 +bytes")
                    .containsPattern("Max stack size +4194304 +4194304 +bytes")
                    .containsPattern("Max locked memory +1048576 +1048576 +bytes")
                    .containsPattern("Max core file size +0 +0 +bytes");
            ExecResult busy = env.exec(
                    Command.of("sh", "-c", "while :; do :; done").withTimeout(java.time.Duration.ofSeconds(30)));
            assertThat(busy).exitedWith(137);
            assertThat(busy.timedOut()).isFalse();
            assertThat(busy.oomKilled()).isFalse();
            assertThat(env.exec("sh", "-c", "head -c 10000 /dev/zero > /tmp/f; echo $?; wc -c < /tmp/f"))
                    .stdout()
                    .isEqualTo("153\n4096\n");
        }
    }

    @Test
    @DisplayName("an rlimit above the JVM's hard limit fails the environment's creation naming the limit, the value "
            + "and the hard limit; a negative one fails at once")
    void rlimitAboveTheHardLimit() throws Exception {
        long hard = FileLimitTests.nofile(ProcessHandle.current().pid())[1];
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .openFiles((int) hard + 1)
                        .start()
                        .close())
                .isInstanceOf(EnvironmentSetupException.class)
                .hasMessage("Isolated environment setup failed at stage 'rlimit': setrlimit nofile " + (hard + 1)
                        + ": Operation not permitted (EPERM)\nHint: above the JVM's hard limit, " + hard
                        + ", which no environment can raise (that needs CAP_SYS_RESOURCE outside every user "
                        + "namespace): give at most that, or raise the JVM's (ulimit -H, or LimitNOFILE= and the "
                        + "like of a systemd unit)");
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> IsolatedEnvironment.builder().rlimit(Rlimit.NOFILE, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("IsolatedEnvironmentBuilder.rlimit(NOFILE, -1): a limit is 0 or more");
    }

    @Test
    @DisplayName("a clock offset the kernel refuses (past 0 or about 146 years) fails naming the range")
    void clockOffsetOutOfRange() {
        for (long[] offsets : new long[][] {{-1_000_000_000_000L, 0}, {0, 200L * 365 * 86400}}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> IsolatedEnvironment.builder()
                            .rootfs("busybox.tar")
                            .clockOffsets(offsets[0], offsets[1])
                            .start()
                            .close())
                    .isInstanceOf(EnvironmentSetupException.class)
                    .hasMessage("Isolated environment setup failed at stage 'time': write /proc/self/timens_offsets: "
                            + "Numerical result out of range (ERANGE)\nHint: an offset must keep its clock between 0 "
                            + "and about 146 years (4611686018 s): a negative one at most the time since the host "
                            + "booted (/proc/uptime), a positive one well below 146 years");
        }
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

    /**
     * Named so that it runs first of its class in the cgroup v2 VM (CgroupV2HostTests), where the JVM's cgroup holds
     * processes: an environment with only a pids limit first made that cgroup a thread root (pids alone may be
     * enabled where processes are), and every later environment failed with EOPNOTSUPP.
     */
    @Test
    @DisplayName("an environment with only a pids limit, then one with a memory limit, then one that tracks both, then "
            + "one with only a CPU limit: each counts memory, processes and OOM kills")
    void resourceUsageControllers() {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").pids(20).start()) {
            assertThat(env.resourceUsage().processes()).isEqualTo(1);
        }
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .memoryBytes(64 << 20)
                .start()) {
            assertThat(env.resourceUsage().memoryCurrentBytes()).isPositive();
        }
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .trackResources(true)
                .start()) {
            ResourceUsage usage = env.resourceUsage();
            assertThat(usage.processes()).isEqualTo(1);
            assertThat(usage.oomKills()).isZero();
            assertThat(usage.memoryPeakBytes()).isGreaterThanOrEqualTo(usage.memoryCurrentBytes());
        }
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .cpuPercent(50)
                .start()) {
            ResourceUsage usage = env.resourceUsage();
            assertThat(usage.processes()).as("its init").isEqualTo(1);
            assertThat(usage.memoryCurrentBytes()).isPositive();
            assertThat(usage.memoryPeakBytes()).isGreaterThanOrEqualTo(usage.memoryCurrentBytes());
            assertThat(usage.oomKills()).isZero();
        }
    }

    @Test
    @DisplayName("resourceUsage without a cgroup says how to get one")
    @Isolated(rootfs = "busybox.tar")
    void noCgroup(IsolatedEnvironment env) {
        org.assertj.core.api.Assertions.assertThatThrownBy(env::resourceUsage).hasMessageContaining("@Limits");
    }
}
