package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ACK;
import static dev.isolated.internal.helper.FrameType.CLOSE;
import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.SPAWNED;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static dev.isolated.internal.helper.ProtocolClient.field;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A command's process killed after the helper cloned it and before it announced itself (kill -1 in the env, the OOM
 * killer): SPAWN's ERROR says so, with the signal. Made deterministic by the env's freezer: the process that enters
 * the env's cgroup (the command as root, or the intermediate with pid1=true) stops there, frozen, until the test
 * kills it and thaws the env.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper")
class HelperEarlyKillTests extends AbstractHelperCliTests {

    @Test
    @DisplayName(
            "SPAWN whose command is killed before it announced itself: ERROR stage=exec signal=9, the env serves on")
    void commandKilledBeforeExec() throws Exception {
        assertKilledBeforeExecIsReported();
    }

    @Test
    @DisplayName("SPAWN pid1=true whose intermediate is killed before the command announced itself: ERROR signal=9")
    void intermediateKilledBeforeExec() throws Exception {
        assertKilledBeforeExecIsReported("pid1=true");
    }

    private void assertKilledBeforeExecIsReported(String... extra) throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Fields created = server.create(1, "rootfs=" + rootfs, "cgroup=true");
            Path cgroup = Path.of(field(created, "kill-cgroup"));
            String init = field(created, "pid");
            freeze(cgroup, true);

            server.send(
                    SPAWN,
                    2,
                    concat(List.of("env=1", "arg=true"), List.of(extra)).toArray(String[]::new));
            // The process that writes itself into the env's cgroup stops there, before it announced the command.
            long starting = await().atMost(Duration.ofSeconds(10)).until(() -> otherThan(init, cgroup), pid -> pid > 0);
            ProcessHandle.of(starting).orElseThrow().destroyForcibly();
            freeze(cgroup, false);

            Frame error = server.read();
            assertThat(error).hasType(ERROR);
            assertThat(error.fields())
                    .containsEntry("stage", "exec")
                    .containsEntry("signal", "9")
                    .containsEntry("errno", "0")
                    .containsEntry("message", "true: killed by signal 9 (SIGKILL) before it could exec")
                    .containsEntry(
                            "hint",
                            "something, such as kill -1 run in the environment or the OOM killer, killed the"
                                    + " command's process")
                    .containsEntry("kind", "test");
            assertThat(server.request(SPAWN, 3, "env=1", "arg=echo", "arg=served on"))
                    .hasType(SPAWNED);
            assertThat(server.stdoutUntilExit(3)).isEqualTo("served on\n");
            assertThat(server.request(CLOSE, 4, "env=1")).hasType(ACK);
        }
    }

    /** The one process of the cgroup besides the env's init, else 0. */
    private static long otherThan(String init, Path cgroup) throws IOException {
        return Files.readAllLines(cgroup.resolve("cgroup.procs")).stream()
                .filter(pid -> !pid.equals(init))
                .mapToLong(Long::parseLong)
                .findFirst()
                .orElse(0);
    }

    /** Freezes (v2 cgroup.freeze, v1 freezer.state) or thaws the cgroup, waiting until it is frozen. */
    private static void freeze(Path cgroup, boolean frozen) throws IOException {
        boolean v2 = Files.exists(cgroup.resolve("cgroup.freeze"));
        Path control = cgroup.resolve(v2 ? "cgroup.freeze" : "freezer.state");
        Files.writeString(control, v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED"));
        if (frozen) {
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> v2
                            ? Files.readString(cgroup.resolve("cgroup.events")).contains("frozen 1")
                            : Files.readString(control).strip().equals("FROZEN"));
        }
    }
}
