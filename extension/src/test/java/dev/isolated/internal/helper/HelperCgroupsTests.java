package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ACK;
import static dev.isolated.internal.helper.FrameType.CLOSE;
import static dev.isolated.internal.helper.FrameType.EXITED;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.SPAWNED;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static dev.isolated.internal.helper.ProtocolClient.field;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Memory, pids and CPU limits in the env's cgroups, through {@code serve}, {@code run} and
 * {@code enter}: the limits hold, and every cgroup is gone after CLOSE.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper")
class HelperCgroupsTests extends AbstractHelperCliTests {

    @Nested
    @DisplayName("cgroups")
    class Cgroups {

        @Test
        @DisplayName(
                "CREATE memory-max: CREATED names the cgroup; an OOM kill is reported as oom=true, signal 9; CLOSE removes it")
        void oomKillIsReported() throws Exception {
            try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
                Fields fields = server.create(1, "rootfs=" + rootfs, "memory-max=33554432");
                Path memory = Path.of(
                        field(fields, "1".equals(fields.getOrEmpty("cgroup-version")) ? "cgroup-memory" : "cgroup"));
                assertThat(memory).isDirectory();
                assertThat(Files.readString(memory.resolve(
                                field(fields, "cgroup-version").equals("1") ? "memory.limit_in_bytes" : "memory.max")))
                        .isEqualTo("33554432\n");

                assertThat(server.request(SPAWN, 2, "env=1", "arg=tail", "arg=/dev/zero"))
                        .hasType(SPAWNED);
                Frame exited = server.readUntil(EXITED, 2);
                assertThat(exited.fields()).containsEntry("signal", "9").containsEntry("oom", "true");

                assertThat(server.request(SPAWN, 3, "env=1", "arg=true")).hasType(SPAWNED);
                assertThat(server.readUntil(EXITED, 3).fields())
                        .containsEntry("code", "0")
                        .doesNotContainKey("oom");

                assertThat(server.request(CLOSE, 4, "env=1")).hasType(ACK);
                assertThat(memory).doesNotExist();
            }
        }

        @Test
        @DisplayName(
                "CREATE pids-max=20: a loop starting 200 sleeps sees fork failures, the env holds at most 20 tasks")
        void pidsLimitStopsAForkLoop() throws Exception {
            try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
                Path pids = pidsCgroup(server.create(1, "rootfs=" + rootfs, "pids-max=20"));

                assertThat(server.request(
                                SPAWN,
                                2,
                                "env=1",
                                "arg=sh",
                                "arg=-c",
                                "arg=i=0; while [ $i -lt 200 ]; do sleep 100 & i=$((i+1)); done"))
                        .hasType(SPAWNED);
                ProtocolClient.Exit exited = server.awaitExit(2);

                assertThat(exited.fields()).doesNotContainEntry("code", "0");
                assertThat(exited.stderr()).contains("can't fork");
                assertThat(Integer.parseInt(
                                Files.readString(pids.resolve("pids.current")).strip()))
                        .isBetween(1, 20);
                assertThat(server.request(CLOSE, 3, "env=1")).hasType(ACK);
                assertThat(pids).doesNotExist();
            }
            assertThat(run("echo", "host survives").stdout()).isEqualTo("host survives\n");
        }

        @Test
        @DisplayName(
                "CREATE cpu-max: the quota and period are set; spawned processes and the init are in the env's cgroup")
        void cpuLimitAndMembership() throws Exception {
            try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
                Fields fields = server.create(1, "rootfs=" + rootfs, "cpu-max=20000\t100000", "cgroup=true");
                if ("1".equals(fields.getOrEmpty("cgroup-version"))) {
                    Path cpu = Path.of(field(fields, "cgroup-cpu"));
                    assertThat(cpu.resolve("cpu.cfs_quota_us")).hasContent("20000");
                    assertThat(cpu.resolve("cpu.cfs_period_us")).hasContent("100000");
                    assertThat(fields).containsKeys("cgroup-memory", "cgroup-pids");
                } else {
                    assertThat(Path.of(field(fields, "cgroup"), "cpu.max")).hasContent("20000 100000");
                }
                Frame spawned = server.request(SPAWN, 2, "env=1", "arg=sleep", "arg=100");
                List<String> members = Files.readAllLines(pidsCgroup(fields).resolve("cgroup.procs"));
                assertThat(members).contains(field(fields, "pid"), field(spawned.fields(), "pid"));
            }
        }

        @Test
        @DisplayName(
                "enter --pid: the command starts in the env's cgroups (same /proc/PID/cgroup as the init), so pids-max applies to it")
        void enterJoinsTheCgroups() throws Exception {
            try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
                Fields created = server.create(1, "rootfs=" + rootfs, "pids-max=10", "memory-max=67108864");
                String init = field(created, "pid");
                Path pids = pidsCgroup(created);
                String initCgroups = Files.readString(Path.of("/proc", init, "cgroup"));
                assertThat(initCgroups).isNotEqualTo(Files.readString(Path.of("/proc/self/cgroup")));

                Process enter = start("enter", "--pid", init, "--", "sleep", seconds(6));
                try {
                    await().atMost(Duration.ofSeconds(5))
                            .until(() ->
                                    !hostProcessesRunning("sleep", seconds(6)).isEmpty());
                    Path command = hostProcessesRunning("sleep", seconds(6)).get(0);

                    assertThat(Files.readString(command.resolve("cgroup"))).isEqualTo(initCgroups);
                    assertThat(Files.readAllLines(pids.resolve("cgroup.procs")))
                            .contains(command.getFileName().toString());
                } finally {
                    assertThat(enter.destroyForcibly().waitFor(10, TimeUnit.SECONDS))
                            .as("enter ends on SIGKILL")
                            .isTrue();
                }

                Result forkLoop = helper(
                        "enter",
                        "--pid",
                        init,
                        "--",
                        "sh",
                        "-c",
                        "i=0; while [ $i -lt 50 ]; do sleep 100 & i=$((i+1)); done");
                assertThat(forkLoop.stderr()).contains("can't fork");
                assertThat(Integer.parseInt(
                                Files.readString(pids.resolve("pids.current")).strip()))
                        .isBetween(1, 10);

                assertThat(server.request(CLOSE, 2, "env=1")).hasType(ACK);
                assertThat(pids).doesNotExist();
            }
        }

        @Test
        @DisplayName("run --memory-max: an OOM kill exits 137 and says so on stderr")
        void runReportsOom() throws Exception {
            Result result = runWith(List.of("--memory-max", "32m"), "tail", "/dev/zero");

            assertThat(result.code()).isEqualTo(137);
            assertThat(result.stderr()).contains("OOM killer");
        }
    }

    @Test
    @DisplayName("run --memory-max as root (of a user namespace too) on a read-only cgroup file system (as in a "
            + "container): stage cgroup, EROFS, a hint that says read-only, not the delegation hint")
    void readOnlyCgroupFileSystem() throws Exception {
        List<String> hostCgroupMounts = cgroupMounts();
        // Every cgroup mount read-only in a mount namespace of this command's own (a bind remount changes
        // that mount only, never the host's or the file system's), then the helper, as root, in it.
        String script = "for m in $(awk '$9 ~ /^cgroup/ {print $5}' /proc/self/mountinfo); do"
                + " mount -o remount,bind,ro \"$m\" || exit 99; done;"
                + " exec \"$0\" run --rootfs \"$1\" --memory-max 32m -- true";

        // Not root (the VM's delegated phase runs this as uid 65534): root of a user namespace of its own, which
        // may remount its mounts read-only too.
        List<String> unshare = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0
                ? List.of("unshare", "--mount", "--propagation", "private")
                : List.of("unshare", "--user", "--map-root-user", "--mount", "--propagation", "private");
        List<String> command = new java.util.ArrayList<>(unshare);
        command.addAll(List.of("sh", "-c", script, HelperPaths.HELPER.toString(), rootfs.toString()));
        Result result = exec(command);

        assertThat(result.code()).as(result.stderr()).isEqualTo(125);
        assertThat(result.stderr())
                .startsWith("isolated-helper: cgroup: ")
                .endsWith(": Read-only file system\n"
                        + "hint: the cgroup file system is mounted read-only here (as in a container that is not "
                        + "privileged): mount it read-write (for a container: a writable /sys/fs/cgroup, e.g. "
                        + "docker run --privileged), or run without cgroup limits\n");
        assertThat(cgroupMounts()).isEqualTo(hostCgroupMounts);
        assertThat(runWith(List.of("--memory-max", "32m"), "true").code()).isZero();
    }

    /** The cgroup lines of this process's mountinfo (their options say ro or rw). */
    private static List<String> cgroupMounts() throws Exception {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(line -> line.contains(" - cgroup"))
                .toList();
    }

    /** The cgroup of the env's pids limit: {@code cgroup-pids} (v1) or {@code cgroup} (v2). */
    private static Path pidsCgroup(Fields created) {
        return Path.of(created.get("cgroup-pids").orElseGet(() -> field(created, "cgroup")));
    }
}
