package dev.isolated;

import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ParameterResolutionException;

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
