package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.Event;

/**
 * The README's "A suppressed EnvironmentReport on a failed test" holds wherever the failure comes from: the test
 * method, its {@code @BeforeEach} or {@code @AfterEach}, a dynamic test of a {@code @TestFactory}, a PER_CLASS
 * class's {@code @BeforeAll} or {@code @AfterAll}; and a test reports the environment it used, not also an enclosing PER_CLASS one.
 */
@DisplayName("failures outside the test method carry the environment's report")
class LifecycleMethodFailureTests {

    @Test
    @DisplayName("a failing @BeforeEach or @AfterEach: the test's failure carries its environment's report")
    void beforeAndAfterEach() {
        assertThat(reports(BeforeEachTestCase.class))
                .singleElement()
                .asString()
                .contains("echo before; exit 3] -> exit 3", "before");
        assertThat(reports(AfterEachTestCase.class))
                .singleElement()
                .asString()
                .contains("echo after; exit 4] -> exit 4", "after");
    }

    @Test
    @DisplayName("a failing dynamic test: its failure carries the factory's environment's report")
    void dynamicTest() {
        assertThat(reports(FactoryTestCase.class))
                .singleElement()
                .asString()
                .contains("echo dynamic; exit 5] -> exit 5");
    }

    @Test
    @DisplayName("a failing @BeforeAll or @AfterAll of a PER_CLASS class: the class's failure carries the class "
            + "environment's report")
    void beforeAndAfterAllPerClass() {
        assertThat(reports(PerClassAfterAllTestCase.class))
                .singleElement()
                .asString()
                .contains("echo done; exit 7] -> exit 7");
        assertThat(reports(PerClassBeforeAllTestCase.class))
                .singleElement()
                .asString()
                .contains("echo all; exit 6] -> exit 6", "Hostname: perclassbeforealltestcase");
    }

    @Test
    @DisplayName("a test with an environment of its own in a PER_CLASS class: one report, of its own environment")
    void ownEnvironmentInAPerClassClass() {
        assertThat(reports(OwnEnvironmentTestCase.class))
                .singleElement()
                .asString()
                .contains("Hostname: own");
    }

    /** The messages of the EnvironmentReports suppressed by the run's failures. */
    private static List<String> reports(Class<?> testCase) {
        List<Event> failed = EngineRunner.run(testCase).allEvents().failed().list();
        assertThat(failed).as("failures of " + testCase.getSimpleName()).hasSize(1);
        Throwable failure = failed.get(0)
                .getRequiredPayload(TestExecutionResult.class)
                .getThrowable()
                .orElseThrow();
        return Stream.of(failure.getSuppressed())
                .filter(EnvironmentReport.class::isInstance)
                .map(Throwable::getMessage)
                .toList();
    }

    @Isolated(rootfs = "busybox.tar")
    static class BeforeEachTestCase {
        @BeforeEach
        void setUp(IsolatedEnvironment env) {
            env.exec("sh", "-c", "echo before; exit 3");
            fail("set-up failed");
        }

        @Test
        void test() {}
    }

    @Isolated(rootfs = "busybox.tar")
    static class AfterEachTestCase {
        @AfterEach
        void tearDown(IsolatedEnvironment env) {
            env.exec("sh", "-c", "echo after; exit 4");
            fail("tear-down failed");
        }

        @Test
        void test() {}
    }

    @Isolated(rootfs = "busybox.tar")
    static class FactoryTestCase {
        @TestFactory
        Stream<DynamicTest> dynamic(IsolatedEnvironment env) {
            return Stream.of(DynamicTest.dynamicTest("fails", () -> {
                env.exec("sh", "-c", "echo dynamic; exit 5");
                fail("dynamic test failed");
            }));
        }
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class PerClassBeforeAllTestCase {
        @BeforeAll
        static void all(IsolatedEnvironment env) {
            env.exec("sh", "-c", "echo all; exit 6");
            fail("@BeforeAll failed");
        }

        @Test
        void test() {}
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class PerClassAfterAllTestCase {
        @AfterAll
        static void done(IsolatedEnvironment env) {
            env.exec("sh", "-c", "echo done; exit 7");
            fail("@AfterAll failed");
        }

        @Test
        void test() {}
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class OwnEnvironmentTestCase {
        @Test
        @Isolated(hostname = "own")
        void test(IsolatedEnvironment env) {
            fail("the test failed");
        }
    }
}
