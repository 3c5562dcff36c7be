package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.image.ImageBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rootless, an environment's commands after its first are forked by a process inside it (the helper's zygote,
 * {@code native/src/main/c/zygote.c}) instead of by two forks of the helper each. Run as uid 65534 through
 * {@link NobodyJvm}, each fixture test runs many commands in one environment and checks that every one of them
 * is what the first was: the same ids, capabilities, filter, limits and {@code ps}; its own stdin, output, exit
 * code, working directory and session keyring; failures told as before; commands still started after everything
 * inside was killed; a command killed before its exec reported as such (137), the zygote kept; and nothing left
 * once the environments are closed.
 */
@DisplayName("rootless: an environment's later commands are forked inside it, and are what its first one was")
class RootlessZygoteTests {
    private static final String MARKER = "zygote-fixture-marker";

    @Test
    @DisplayName("as uid 65534: ids, capabilities, filter, limits, ps, stdio, exit codes, failures, keyrings, "
            + "kill -9 -1 inside, a command killed before its exec; nothing left after")
    void laterCommandsAsNobody(@TempDir Path dir) throws Exception {
        Path image = probeImage(NobodyJvm.runDirectory(dir, "image"));
        Set<Long> before = RootlessLeftovers.processesOfNobody();

        List<String> lines = NobodyJvm.runFixture(
                NobodyJvm.runDirectory(dir, "run"), ZygoteTestCase.class, List.of(), "isolated.rootfs=" + image);

        assertThat(lines).hasSize(7).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
        assertThat(RootlessLeftovers.find(before, dir, MARKER))
                .as("processes of the child JVM left after it exited")
                .isEmpty();
    }

    @Test
    @DisplayName("as uid 65534: a zygote dies with its helper, killed with SIGKILL")
    void zygoteDiesWithTheHelper(@TempDir Path dir) throws Exception {
        Set<Long> before = RootlessLeftovers.processesOfNobody();

        List<String> lines = NobodyJvm.runFixture(dir, HelperKilledTestCase.class);

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
        assertThat(RootlessLeftovers.find(before, dir, MARKER))
                .as("processes of the child JVM left after it exited")
                .isEmpty();
    }

    static class HelperKilledTestCase {
        @Test
        void zygoteDiesWithTheHelper() {
            IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start(); // never closed: its helper dies
            for (int i = 0; i < 3; i++) {
                assertThat(env.exec("true")).succeeded();
            }
            List<Long> zygotes = zygotesOfThisJvm();
            assertThat(zygotes).hasSize(1);
            ProcessHandle zygote = ProcessHandle.of(zygotes.get(0)).orElseThrow();
            ProcessHandle helper = zygote.parent().orElseThrow();
            assertThat(helper.destroyForcibly()).isTrue();
            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> !zygote.isAlive() && !helper.isAlive());
        }
    }

    /** This JVM's descendants named isolated-zygote on the host (their /proc/PID/comm). */
    private static List<Long> zygotesOfThisJvm() {
        return ProcessHandle.current()
                .descendants()
                .map(ProcessHandle::pid)
                .filter(pid -> {
                    try {
                        return Files.readString(Path.of("/proc", pid.toString(), "comm"))
                                .equals("isolated-zygote\n");
                    } catch (IOException gone) {
                        return false;
                    }
                })
                .toList();
    }

    /** busybox with HermeticDefaultsTests' probe at /probe, as a tar uid 65534 can read. */
    private static Path probeImage(Path dir) throws IOException, InterruptedException {
        Path probe = dir.resolve("probe");
        Process gcc = new ProcessBuilder(
                        "gcc",
                        "-static",
                        "-O2",
                        "-o",
                        probe.toString(),
                        Path.of("src/test/c/hermetic-probe.c").toAbsolutePath().toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(gcc.waitFor()).as("gcc: %s", output).isZero();
        Path built = ImageBuilder.from("busybox.tar")
                .addStaticBinary(probe, "/probe")
                .build();
        Path image = dir.resolve("probe.tar");
        Files.copy(built, image);
        Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("rw-r--r--"));
        return image;
    }

    /** Its environments take the rootfs of {@code isolated.rootfs}: busybox with the probe. */
    static class ZygoteTestCase {
        private static final String STATUS = "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs"
                + "|Seccomp):' /proc/self/status; umask; ulimit -n; ulimit -c; readlink /proc/self/ns/net /proc/self/ns/mnt"
                + " /proc/self/ns/pid /proc/self/root; pwd";

        @Test
        @Isolated
        void everyCommandIsWhatTheFirstWas(IsolatedEnvironment env) {
            ExecResult first = env.exec("sh", "-c", STATUS);
            assertThat(first).succeeded();
            assertThat(first.stdout()).contains("NoNewPrivs:\t1", "Seccomp:\t2");
            for (int i = 0; i < 4; i++) {
                assertThat(env.exec("sh", "-c", STATUS)).succeeded().stdout().isEqualTo(first.stdout());
            }
            assertThat(zygotesOfThisJvm())
                    .as("the helper's zygotes (isolated-zygote)")
                    .hasSize(1);
            for (int i = 0; i < 2; i++) {
                assertThat(env.exec("ps", "-o", "pid,comm").stdoutLines())
                        .as("ps sees the init and itself, nothing else")
                        .hasSize(3)
                        .satisfies(lines -> assertThat(lines.get(1)).matches("\\s*1 isolated-init"))
                        .satisfies(lines -> assertThat(lines.get(2)).matches("\\s*\\d+ ps"));
            }
        }

        @Test
        @Isolated
        void stdioExitCodesAndFailures(IsolatedEnvironment env) {
            for (int i = 0; i < 3; i++) {
                assertThat(env.exec(Command.of("cat").withStdin("in " + i)))
                        .succeeded()
                        .stdout()
                        .isEqualTo("in " + i);
                assertThat(env.exec("sh", "-c", "echo out; echo err >&2; exit " + (3 + i)))
                        .exitedWith(3 + i)
                        .satisfies(r -> assertThat(r.stdout()).isEqualTo("out\n"))
                        .satisfies(r -> assertThat(r.stderr()).isEqualTo("err\n"));
                assertThat(env.exec(Command.of("sh", "-c", "echo $X; pwd")
                                .withEnv("X", "x" + i)
                                .withWorkingDirectory("/tmp")))
                        .stdout()
                        .isEqualTo("x" + i + "\n/tmp\n");
            }
            assertThat(env.exec("no-such-command")).exitedWith(127);
            ExecResult noDirectory = env.exec(Command.of("true").withWorkingDirectory("/does/not/exist"));
            assertThat(noDirectory).exitedWith(125);
            assertThat(noDirectory.stderr())
                    .isEqualTo("isolated: working directory /does/not/exist does not exist in the environment\n");
            assertThat(env.exec(Command.of("sleep", "30").withTimeout(Duration.ofMillis(300))))
                    .exitedWith(143);
            IsolatedProcess sleeper = env.start(Command.of("sh", "-c", "sleep 30; echo " + MARKER));
            assertThat(sleeper.kill().signal()).hasValue(9);
            assertThat(env.exec("echo", "still").stdout()).isEqualTo("still\n");
        }

        @Test
        @Isolated
        void commandKilledBeforeItsExec(IsolatedEnvironment env) {
            assertThat(env.exec("true")).succeeded();
            List<Long> zygotes = zygotesOfThisJvm();
            assertThat(zygotes).hasSize(1);
            IsolatedProcess killer = env.start(Command.of("sh", "-c", "while :; do kill -9 -1; done"));
            ExecResult early = null;
            for (int i = 0; i < 2000 && early == null; i++) {
                ExecResult r = env.exec("true");
                assertThat(r.exitCode()).as(r.toString()).isIn(0, 137);
                early = r.stderr().isEmpty() ? null : r;
            }
            killer.kill();

            assertThat(early).as("a command killed before its exec among 2000").isNotNull();
            assertThat(early.stderr())
                    .isEqualTo("isolated: true: killed by signal 9 (SIGKILL) before it could exec (something, such"
                            + " as kill -1 run in the environment or the OOM killer, killed the command's process)\n");
            assertThat(zygotesOfThisJvm()).as("the zygote is kept").isEqualTo(zygotes);
        }

        @Test
        @Isolated
        void killingEverythingInside(IsolatedEnvironment env) {
            env.start(Command.of("sh", "-c", "sleep 30; echo " + MARKER));
            env.start(Command.of("sh", "-c", "sleep 31; echo " + MARKER));
            assertThat(env.exec("sh", "-c", "kill -9 -1; echo killed")).stdout().isEqualTo("killed\n");
            for (int i = 0; i < 3; i++) {
                assertThat(env.exec("echo", "after " + i)).succeeded().stdout().isEqualTo("after " + i + "\n");
            }
            // the killed ones die and are reaped by the init a moment later (under load, after the echos above)
            org.awaitility.Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(20))
                    .untilAsserted(() -> assertThat(env.exec("ps", "-o", "comm").stdout())
                            .isEqualTo("COMMAND\nisolated-init\nps\n"));
        }

        @Test
        void noZygoteUnderAProcessLimit() {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .rlimit(Rlimit.NPROC, 40)
                    .start()) {
                for (int i = 0; i < 3; i++) {
                    assertThat(env.exec("sh", "-c", "ulimit -u")).stdout().isEqualTo("40\n");
                }
                assertThat(zygotesOfThisJvm())
                        .as("RLIMIT_NPROC counts root's processes in the user namespace: a zygote would take one")
                        .isEmpty();
            }
        }

        @Test
        @Isolated(seccomp = Seccomp.UNCONFINED)
        void aSessionKeyringOfItsOwnEach(IsolatedEnvironment env) {
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                ExecResult probe = env.exec("/probe", "keyring");
                assertThat(probe).succeeded();
                String line = probe.stdoutLines().get(0);
                assertThat(line).matches("keyring=\\d+");
                assertThat(seen.add(line))
                        .as("%s is new (seen: %s)", line, seen)
                        .isTrue();
            }
        }

        @Test
        @Isolated
        void theDefaultFilterStillRefusesKeyrings(IsolatedEnvironment env) {
            for (int i = 0; i < 4; i++) {
                assertThat(env.exec("/probe", "keyctl", "add_key").stdoutLines())
                        .contains("keyctl=EPERM", "add_key=EPERM", "probe-done");
            }
        }
    }
}
