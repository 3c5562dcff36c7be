package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;

/**
 * README's *Nothing leaks*, for tests that end abruptly: one that JUnit's preemptive {@code @Timeout} abandons on its
 * own thread, and one whose thread is interrupted while the extension creates its environment (or takes the spare
 * made for it). Once the fixture class ran, the helper holds no environment and no command of theirs runs.
 */
@DisplayName("a test that ends abruptly leaves nothing")
class AbruptTestEndTests {

    @Test
    @DisplayName("@Timeout(threadMode = SEPARATE_THREAD) abandoning an exec: the test fails with the timeout, the "
            + "command and every environment of the class (the spare made for the next test too) are gone")
    void preemptiveTimeout() throws IOException {
        PreemptedTestCase.seconds = HostSleepers.ownSeconds(41);

        EngineExecutionResults results = EngineRunner.run(PreemptedTestCase.class);

        results.testEvents()
                .assertStatistics(stats -> stats.started(3).succeeded(2).failed(1));
        assertThat(failures(results))
                .singleElement()
                .satisfies(failure ->
                        assertThat(failure.toString()).contains("TimeoutException", "timed out after 1 second"));
        results.containerEvents().assertStatistics(stats -> stats.failed(0));
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(HostSleepers.of(PreemptedTestCase.seconds))
                        .as("the abandoned exec's command")
                        .isEmpty());
        assertThat(SpareEnvironmentTests.liveInitsOfHelper())
                .as("the helper's environments")
                .isEmpty();
    }

    /** The third test takes the spare made while the second ran, asks for the next, and hangs past its timeout. */
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    @Isolated(rootfs = "busybox.tar")
    static class PreemptedTestCase {
        static volatile String seconds;

        @Test
        @Order(1)
        void first(IsolatedEnvironment env) {
            env.exec("true");
        }

        @Test
        @Order(2)
        void second(IsolatedEnvironment env) {
            env.exec("true");
        }

        @Test
        @Order(3)
        @Timeout(value = 1, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
        void hangs(IsolatedEnvironment env) {
            env.exec("sleep", seconds);
        }
    }

    @Test
    @DisplayName("a thread interrupted while the extension creates its environment, or takes the spare made for it: "
            + "the test fails naming the interrupt, and nothing the helper began is left")
    void interruptedWhileCreating() throws IOException {
        EngineExecutionResults results = EngineRunner.run(InterruptedTestCase.class);
        Thread.interrupted(); // the fixture ran on this thread: its last interrupt is not this test's

        results.testEvents().assertStatistics(stats -> stats.started(4));
        results.containerEvents().assertStatistics(stats -> stats.failed(0));
        List<Throwable> failures = failures(results);
        assertThat(failures)
                .as("the interrupted tests' failures")
                .isNotEmpty()
                .allSatisfy(failure -> assertThat(failure)
                        .isExactlyInstanceOf(IsolatedException.class)
                        .hasMessage("Interrupted while the isolated helper created the environment; it was closed"));
        assertThat(results.testEvents().failed().stream()
                        .map(e -> e.getTestDescriptor().getDisplayName()))
                .as("the tests that failed")
                .contains("first()")
                .isSubsetOf("first()", "fourth(IsolatedEnvironment)");
        assertThat(SpareEnvironmentTests.liveInitsOfHelper())
                .as("the helper's environments")
                .isEmpty();
    }

    @Test
    @DisplayName("the same as a JVM's first test, while its helper starts: the helper starts all the same, the test "
            + "fails naming the interrupt, the next tests work, and the JVM leaves no state directory")
    void interruptedWhileTheHelperStarts(@TempDir Path tmp) throws Exception {
        List<String> lines =
                FixtureRunner.runInChildJvm(List.of(), List.of("-Djava.io.tmpdir=" + tmp), InterruptedTestCase.class);

        String interrupted =
                "FAILED\tIsolatedException: Interrupted while the isolated helper created the environment; it was closed";
        assertThat(lines).as("the child's lines").hasSize(4);
        assertThat(lines.get(0)).as("first() of %s", lines).isEqualTo(interrupted);
        assertThat(lines.subList(1, 3)).allSatisfy(line -> assertThat(line).isEqualTo("SUCCESSFUL\t"));
        assertThat(lines.get(3)).as("fourth()").isIn("SUCCESSFUL\t", interrupted);
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left).as("the child's java.io.tmpdir").isEmpty();
        }
    }

    /**
     * Its first and fourth tests start on an interrupted thread: the first has no spare to take, the fourth takes
     * the one made while the third ran (if it is still being made, the interrupt ends the wait for it).
     */
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    @ExtendWith(InterruptFirstAndFourth.class) // before @Isolated's extension: its beforeEach runs first
    @Isolated(rootfs = "busybox.tar")
    static class InterruptedTestCase {
        @Test
        @Order(1)
        void first() {}

        @Test
        @Order(2)
        void second(IsolatedEnvironment env) {
            env.exec("true");
        }

        @Test
        @Order(3)
        void third(IsolatedEnvironment env) {
            env.exec("true");
        }

        @Test
        @Order(4)
        void fourth(IsolatedEnvironment env) {
            Thread.interrupted(); // it got the spare made before the interrupt mattered: nothing to check here
        }
    }

    /** Interrupts the test's thread before the environment is made, for the first and the fourth test. */
    static class InterruptFirstAndFourth implements BeforeEachCallback {
        @Override
        public void beforeEach(ExtensionContext context) {
            String name = context.getRequiredTestMethod().getName();
            if (name.equals("first") || name.equals("fourth")) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static List<Throwable> failures(EngineExecutionResults results) {
        return results.testEvents().failed().stream()
                .map(e -> e.getPayload(TestExecutionResult.class)
                        .flatMap(TestExecutionResult::getThrowable)
                        .orElseThrow())
                .toList();
    }
}
