package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.platform.engine.TestExecutionResult;

/** What a test that takes an {@link IsolatedEnvironment} without one gets, as the README's "What errors mean" says. */
@DisplayName("an IsolatedEnvironment parameter without an environment")
class NoEnvironmentTests {

    @Test
    @DisplayName("with JUnit's own @Isolated beside ours: our message, naming the wrong import")
    void junitsIsolatedBesideOurs() {
        EngineRunner.run(JunitIsolatedBesideOursTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("test"),
                                finishedWithFailure(
                                        instanceOf(ParameterResolutionException.class),
                                        message(m -> m.startsWith(
                                                        "No isolated environment for parameter dev.isolated.IsolatedEnvironment ")
                                                && m.contains(
                                                        "carries JUnit's own @org.junit.jupiter.api.parallel.Isolated")
                                                && m.contains("instead of @dev.isolated.Isolated")))));
    }

    @Test
    @DisplayName("with only JUnit's own @Isolated: JUnit's message, as the README quotes it")
    void onlyJunitsIsolated() {
        EngineRunner.run(OnlyJunitIsolatedTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("test"),
                                finishedWithFailure(
                                        instanceOf(ParameterResolutionException.class),
                                        message(
                                                m -> m.startsWith(
                                                        "No ParameterResolver registered for parameter [dev.isolated.IsolatedEnvironment env]")))));
    }

    @Test
    @DisplayName("taken in a constructor or in @BeforeAll (per-method lifecycle): our message, naming where to take it")
    void constructorAndBeforeAll() {
        for (Class<?> testCase : List.of(ConstructorTestCase.class, BeforeAllTestCase.class)) {
            assertFailsResolving(
                    testCase,
                    "No isolated environment for parameter dev.isolated.IsolatedEnvironment env of ",
                    "take IsolatedEnvironment in @Test or @BeforeEach/@AfterEach methods, not in "
                            + "constructors or @BeforeAll methods.");
        }
    }

    @Test
    @DisplayName("taken in @BeforeAll with lifecycle = PER_CLASS: the class's environment")
    void beforeAllPerClass() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(PerClassBeforeAllTestCase.class), 1);
    }

    @Test
    @DisplayName("taken in the constructor of a class with lifecycle = PER_CLASS: the class's environment, with "
            + "JUnit's @TestInstance(PER_CLASS) too (made then before JUnit's callbacks)")
    void constructorOfAPerClassInstance() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(PerClassInstanceConstructorTestCase.class), 1);
        EngineRunner.assertAllSucceeded(EngineRunner.run(PerClassConstructorTestCase.class), 2);
    }

    @Test
    @DisplayName("@Isolated on a parameter of a constructor or @BeforeAll method: fails naming where to take it, "
            + "never the class's environment instead")
    void isolatedParameterOutsideATest() {
        for (Class<?> testCase :
                List.of(IsolatedConstructorParameterTestCase.class, IsolatedBeforeAllParameterTestCase.class)) {
            assertFailsResolving(
                    testCase,
                    "@Isolated on parameter env of ",
                    ": an environment of a parameter's own is made for one test, in its @Test, "
                            + "@BeforeEach or @AfterEach method, not in a constructor or a @BeforeAll "
                            + "or @AfterAll method. For one environment per class, put "
                            + "@Isolated(lifecycle = PER_CLASS) on the class and take the parameter "
                            + "without @Isolated; or make one with IsolatedEnvironment.builder().");
        }
    }

    /** Asserts that the one failure of {@code testCase} is a ParameterResolutionException saying {@code parts}. */
    private static void assertFailsResolving(Class<?> testCase, String... parts) {
        assertThat(EngineRunner.run(testCase).allEvents().failed().stream())
                .singleElement()
                .satisfies(e -> assertThat(
                                e.getRequiredPayload(TestExecutionResult.class).getThrowable())
                        .get()
                        .isInstanceOf(ParameterResolutionException.class)
                        .asString()
                        .contains(parts));
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    static class PerClassInstanceConstructorTestCase {
        private final IsolatedEnvironment fromConstructor;

        PerClassInstanceConstructorTestCase(IsolatedEnvironment env) {
            fromConstructor = env;
        }

        @Test
        void test(IsolatedEnvironment env) {
            assertThat(env).isSameAs(fromConstructor);
        }
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class PerClassConstructorTestCase {
        static final Set<IsolatedEnvironment> constructed = ConcurrentHashMap.newKeySet();

        PerClassConstructorTestCase(IsolatedEnvironment env) {
            constructed.add(env);
        }

        @Test
        void first(IsolatedEnvironment env) {
            assertThat(constructed).containsExactly(env);
        }

        @Test
        void second(IsolatedEnvironment env) {
            assertThat(constructed).containsExactly(env);
        }
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class IsolatedConstructorParameterTestCase {
        IsolatedConstructorParameterTestCase(@Isolated(hostname = "own") IsolatedEnvironment env) {}

        @Test
        void test() {}
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class IsolatedBeforeAllParameterTestCase {
        @BeforeAll
        static void all(@Isolated(hostname = "own") IsolatedEnvironment env) {}

        @Test
        void test() {}
    }

    @Isolated(rootfs = "busybox.tar")
    static class ConstructorTestCase {
        ConstructorTestCase(IsolatedEnvironment env) {}

        @Test
        void test() {}
    }

    @Isolated(rootfs = "busybox.tar")
    static class BeforeAllTestCase {
        @BeforeAll
        static void all(IsolatedEnvironment env) {}

        @Test
        void test() {}
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class PerClassBeforeAllTestCase {
        static IsolatedEnvironment shared;

        @BeforeAll
        static void all(IsolatedEnvironment env) {
            env.writeString("/tmp/marker", "from @BeforeAll");
            shared = env;
        }

        @Test
        void test(IsolatedEnvironment env) {
            assertThat(env).isSameAs(shared);
            assertThat(env.readString("/tmp/marker")).isEqualTo("from @BeforeAll");
        }
    }

    @org.junit.jupiter.api.parallel.Isolated
    static class JunitIsolatedBesideOursTestCase {
        @Test
        void test(IsolatedEnvironment env, @Isolated(rootfs = "busybox.tar") IsolatedEnvironment other) {}
    }

    @org.junit.jupiter.api.parallel.Isolated
    static class OnlyJunitIsolatedTestCase {
        @Test
        void test(IsolatedEnvironment env) {}
    }
}
