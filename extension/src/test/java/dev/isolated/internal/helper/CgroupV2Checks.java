package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ACK;
import static dev.isolated.internal.helper.FrameType.CLOSE;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.SPAWNED;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static dev.isolated.internal.helper.ProtocolClient.field;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * What only a cgroup v2 host shows (run in the test VM by {@code CgroupV2HostTests}, not by Surefire): the env's
 * cgroup is one v2 leaf next to the helper's, with the v2 limit files; the JVM and helper moved into
 * {@code isolated-leaf} once, however many helpers started; {@code cpu.max} throttles; the probe reports v2; an env
 * without limits has a v2 cgroup too, whose {@code cgroup.kill} ends a daemon that left all its namespaces.
 * {@code -Disolated.vm.cgroup.base} is the cgroup the JVM was started in.
 */
class CgroupV2Checks extends AbstractHelperCliTests {
    private static final Path ROOT = Path.of("/sys/fs/cgroup");
    private final Path base = Path.of(System.getProperty("isolated.vm.cgroup.base"));

    @Test
    void theEnvIsAV2LeafWithTheLimitsNextToTheHelpersLeaf() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Fields created =
                    server.create(1, "rootfs=" + rootfs, "memory-max=33554432", "pids-max=50", "cpu-max=20000\t100000");
            Path dir = Path.of(field(created, "cgroup"));

            assertThat(field(created, "cgroup-version")).isEqualTo("2");
            assertThat(dir.getParent()).isEqualTo(base);
            assertThat(dir.resolve("memory.max")).hasContent("33554432");
            assertThat(dir.resolve("memory.swap.max")).hasContent("0");
            assertThat(dir.resolve("pids.max")).hasContent("50");
            assertThat(dir.resolve("cpu.max")).hasContent("20000 100000");
            assertThat(Path.of("/proc", field(created, "pid"), "cgroup")).hasContent("0::/" + ROOT.relativize(dir));
            String leaf = "0::/" + ROOT.relativize(base.resolve("isolated-leaf"));
            assertThat(Path.of("/proc", Long.toString(server.process().pid()), "cgroup"))
                    .hasContent(leaf);
            assertThat(Path.of("/proc/self/cgroup")).hasContent(leaf);
            try (Stream<Path> nested = Files.walk(base)) {
                assertThat(nested.filter(p -> p.endsWith("isolated-leaf/isolated-leaf")))
                        .isEmpty();
            }

            assertThat(server.request(CLOSE, 2, "env=1")).hasType(ACK);
            assertThat(dir).doesNotExist();
        }
    }

    @Test
    void everyEnvHasAV2CgroupWhoseKillEndsADaemonThatLeftItsNamespaces() throws Exception {
        for (String applet : List.of("unshare", "setsid")) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Fields created = server.create(1, "rootfs=" + rootfs, "ns=mount,uts", "caps=all");
            Path dir = Path.of(field(created, "kill-cgroup"));
            assertThat(dir.getParent()).isEqualTo(base);
            assertThat(created.get("cgroup-version"))
                    .as("no limits: nothing to report for accounting")
                    .isEmpty();
            assertThat(server.request(
                            SPAWN,
                            2,
                            "env=1",
                            "arg=sh",
                            "arg=-c",
                            "arg=unshare -m -u setsid sleep 7775 & echo started"))
                    .hasType(SPAWNED);
            assertThat(server.stdoutUntilExit(2)).isEqualTo("started\n");
            // the background unshare execs setsid, which forks the sleep: wait until it runs (TCG is slow)
            Path procs = dir.resolve("cgroup.procs");
            Awaitility.await("the daemon's sleep in the env's cgroup")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> Files.readString(procs).lines().anyMatch(CgroupV2Checks::isTheSleep));
            List<String> inside = Files.readString(procs).lines().toList();
            assertThat(inside)
                    .as("the init and the daemon, in the env's cgroup")
                    .hasSize(2);

            assertThat(server.request(CLOSE, 3, "env=1")).hasType(ACK);

            assertThat(dir).doesNotExist();
            assertThat(inside)
                    .allSatisfy(pid -> assertThat(Path.of("/proc", pid)).doesNotExist());
        }
    }

    @Test
    void aCpuLimitThrottlesABusyLoop() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Path dir = Path.of(field(server.create(1, "rootfs=" + rootfs, "cpu-max=10000\t100000"), "cgroup"));
            assertThat(server.request(SPAWN, 2, "env=1", "arg=sh", "arg=-c", "arg=while :; do :; done"))
                    .hasType(SPAWNED);
            long start = System.nanoTime();
            Thread.sleep(1500);
            String stat = Files.readString(dir.resolve("cpu.stat"));
            long elapsedUsec = (System.nanoTime() - start) / 1000;

            assertThat(stat).containsPattern("nr_throttled [1-9]");
            assertThat(value(stat, "usage_usec")).as(stat).isLessThan(elapsedUsec / 10 + 200_000);
            server.send(CLOSE, 3, "env=1");
            assertThat(server.readUntil(ACK, 3)).hasType(ACK);
        }
    }

    private static boolean isTheSleep(String pid) {
        try {
            return Files.readString(Path.of("/proc", pid, "cmdline")).equals("sleep\u00007775\u0000");
        } catch (java.io.IOException gone) {
            return false;
        }
    }

    private static long value(String stat, String key) {
        return stat.lines()
                .filter(l -> l.startsWith(key + " "))
                .mapToLong(l -> Long.parseLong(l.split(" ")[1]))
                .findFirst()
                .orElseThrow();
    }

    @Test
    void theProbeFindsEachControllerInV2() throws Exception {
        String probe = helper("probe").stdout();

        for (String controller : List.of("memory", "pids", "cpu")) {
            assertThat(probe).contains("cgroup-" + controller + " ok v2 " + base + "\n");
        }
    }

    @Test
    void aCgroupNamespaceHasTheEnvsCgroupAsItsRoot() throws Exception {
        Result inNamespace =
                runWith(List.of("--memory-max", "32m", "--ns", "pid,mount,cgroup"), "cat", "/proc/self/cgroup");
        Result outside = runWith(List.of("--memory-max", "32m"), "cat", "/proc/self/cgroup");

        assertThat(inNamespace.stdout()).as(inNamespace.stderr()).isEqualTo("0::/\n");
        assertThat(outside.stdout())
                .as(outside.stderr())
                .matches("0::/" + ROOT.relativize(base) + "/isolated-run-\\d+-[0-9a-f]{16}\n");
    }
}
