package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * README's *Nothing leaks* for the extension's background close (spare environments, the default): from the second
 * test of a row on, a test's environment is closed while the next test starts. A child JVM is killed with SIGKILL
 * while such a close is in flight: the test's environment (a 256 MiB file in its tmpfs layer, {@value #SLEEPS}
 * daemons) still running, the next test's spare made or being made. Nothing of it may be left: no helper, lock
 * keeper, init or command, no cgroup, no mount, no state directory in {@code java.io.tmpdir}.
 */
@DisplayName("a JVM killed while the extension closes a test's environment in the background")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KilledWhileClosingTests {

    static final int SLEEPS = 200;

    /**
     * @param stopHelper whether the helper is stopped (SIGSTOP) before the close is sent, so the kill surely comes
     *     while the close is sent and unanswered (the helper, continued after the kill, sees the CLOSE, then EOF);
     *     else the JVM is killed as soon as the next test starts, wherever the helper is in the close
     */
    @ParameterizedTest(name = "helper stopped before the close: {0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("leaves no process, cgroup, mount or state directory")
    void killedWhileClosing(boolean stopHelper, @TempDir Path tmp) throws Exception {
        String marker = HostSleepers.ownSeconds(stopHelper ? 41 : 42);
        Path layers = Files.createDirectories(tmp.resolve("layers"));
        Path javaTmp = Files.createDirectories(tmp.resolve("java-tmp"));
        List<String> mountsBefore = Files.readAllLines(Path.of("/proc/self/mountinfo"));
        Process child = KilledInEveryStateTests.startChild(javaTmp, layers, marker, BackgroundCloseCase.class);
        List<ProcessHandle> doomed = new ArrayList<>();
        List<String> cgroups = new ArrayList<>();
        try {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            OutputStream in = child.getOutputStream();
            ProcessHandle helper = null;
            List<String> seen = new ArrayList<>();
            for (String line; (line = out.readLine()) != null; ) {
                seen.add(line);
                if (line.equals("ENDING 1")) {
                    go(in); // the first test's environment is closed before the second starts
                } else if (line.equals("ENDING 2")) {
                    helper = helperOf(child);
                    if (stopHelper) {
                        signal("STOP", helper.pid());
                    }
                    helper.descendants().forEach(doomed::add);
                    doomed.add(helper);
                    for (ProcessHandle p : doomed) {
                        cgroups.addAll(KilledInEveryStateTests.isolatedCgroups(p.pid()));
                    }
                    go(in);
                } else if (line.equals("STARTING 3")) {
                    break;
                }
            }
            assertThat(helper)
                    .as("the child's helper, at the second test's end; it printed %s", seen)
                    .isNotNull();
            // What the kill catches: so that each check below could fail.
            assertThat(KilledInEveryStateTests.named(doomed, "isolated-init"))
                    .as("the inits: the second test's, and the third's spare once made")
                    .isNotEmpty();
            assertThat(JvmExitTests.cgroupDirectories(cgroups))
                    .as("the environments' cgroups")
                    .isNotEmpty();
            if (stopHelper) {
                assertThat(HostSleepers.of(marker))
                        .as("the second test's daemons, its close sent to the stopped helper")
                        .hasSize(SLEEPS);
            }
            ProcessHandle.of(child.pid()).orElseThrow().destroyForcibly(); // SIGKILL
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(child.exitValue()).isEqualTo(137);
        } finally {
            child.destroyForcibly();
            for (ProcessHandle p : doomed) {
                if (p.isAlive() && KilledInEveryStateTests.describe(p).contains("isolated-helper")) {
                    signal("CONT", p.pid());
                }
            }
        }

        Awaitility.await()
                .atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> {
                    assertThat(doomed.stream().filter(ProcessHandle::isAlive).map(KilledInEveryStateTests::describe))
                            .as("the helper, lock keeper, inits and commands")
                            .isEmpty();
                    assertThat(HostSleepers.of(marker)).as("the daemons").isEmpty();
                    assertThat(JvmExitTests.cgroupDirectories(cgroups))
                            .as("the environments' cgroups")
                            .isEmpty();
                });
        assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo")))
                .as("host mounts of Isolated, or under the child's directories")
                .noneMatch(mount -> (mount.contains("isolated") && !mountsBefore.contains(mount))
                        || mount.contains(tmp.toString()));
        try (Stream<Path> left = Files.list(javaTmp)) {
            assertThat(left)
                    .as("the child's java.io.tmpdir (the helper's state directory)")
                    .isEmpty();
        }
        try (Stream<Path> left = Files.list(layers)) {
            assertThat(left.map(p -> p.getFileName().toString()))
                    .as("isolated.layer.dir: at most the killed JVM's directory, left for the next JVM (README)")
                    .allSatisfy(name -> assertThat(name).startsWith("jvm-" + child.pid() + "-"));
        }
    }

    private static void go(OutputStream in) throws IOException {
        in.write('\n');
        in.flush();
    }

    private static ProcessHandle helperOf(Process child) {
        return child.children()
                .filter(p -> p.info().command().orElse("").endsWith("isolated-helper"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("the child JVM has no isolated-helper"));
    }

    private static void signal(String signal, long pid) throws IOException, InterruptedException {
        assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                        .inheritIO()
                        .start()
                        .waitFor())
                .as("kill -%s %d", signal, pid)
                .isZero();
    }

    /**
     * Run by the child JVM: each test fills its environment, prints {@code ENDING <n>} and waits for a line on stdin;
     * {@link StartingMarker} prints {@code STARTING <n>} before the extension waits for the earlier tests' closes.
     */
    @ExtendWith(StartingMarker.class) // before @Isolated's extension, so its beforeEach runs first
    @Isolated(rootfs = "busybox.tar")
    static class BackgroundCloseCase {
        @RepeatedTest(3)
        void repetition(IsolatedEnvironment env, RepetitionInfo info) throws IOException {
            String marker = System.getProperty("killed.marker");
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "dd if=/dev/zero of=/big bs=1M count=256 2>/dev/null && i=0 && while [ $i -lt " + SLEEPS
                                    + " ]; do setsid sleep " + marker + " </dev/null >/dev/null 2>&1 & "
                                    + "i=$((i+1)); done"))
                    .succeeded();
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> HostSleepers.of(marker).size() == SLEEPS);
            System.out.println("ENDING " + info.getCurrentRepetition());
            System.out.flush();
            assertThat(System.in.read()).as("the parent's go").isEqualTo('\n');
        }
    }

    /** Prints {@code STARTING <n>} when the n-th repetition is about to start. */
    static class StartingMarker implements BeforeEachCallback {
        private int started;

        @Override
        public void beforeEach(ExtensionContext context) {
            System.out.println("STARTING " + ++started);
            System.out.flush();
        }
    }
}
