package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineExecutionResults;

@DisplayName("where IsolatedEnvironment.builder() reads the keys of IsolatedConfiguration")
class BuilderConfigurationTests {

    @Test
    @DisplayName(
            "a launcher's configuration parameter applies to @Isolated environments, not to builder() ones, also after an @Isolated one: builder() reads system properties")
    void builderReadsSystemPropertiesOnly() {
        EngineExecutionResults results =
                EngineRunner.run(TestCase.class, Map.of(IsolatedConfiguration.EXEC_TIMEOUT, "1s"));

        EngineRunner.assertAllSucceeded(results, 1);
    }

    @Test
    @DisplayName("builder() takes isolated.exec.timeout and isolated.await.timeout from system properties, "
            + "and its own execTimeout and awaitTimeout over them")
    void builderReadsTheTimeoutProperties() {
        System.setProperty(IsolatedConfiguration.EXEC_TIMEOUT, "1s");
        System.setProperty(IsolatedConfiguration.AWAIT_TIMEOUT, "500ms");
        try {
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                ExecResult sleep = env.exec("sleep", "30");
                assertThat(sleep.timedOut())
                        .as("-Disolated.exec.timeout=1s stops %s", sleep)
                        .isTrue();
                assertThat(sleep.signal()).hasValue(15);
                assertThatThrownBy(() -> env.awaitFile("/never"))
                        .isInstanceOf(AwaitTimeoutException.class)
                        .hasMessageEndingWith(" within 500 ms");
            }
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .execTimeout(Duration.ofSeconds(60))
                    .awaitTimeout(Duration.ofMillis(700))
                    .start()) {
                assertThat(env.exec("sleep", "2").timedOut())
                        .as("execTimeout(60 s) over the property's 1 s")
                        .isFalse();
                assertThatThrownBy(() -> env.awaitFile("/never")).hasMessageEndingWith(" within 700 ms");
            }
        } finally {
            System.clearProperty(IsolatedConfiguration.EXEC_TIMEOUT);
            System.clearProperty(IsolatedConfiguration.AWAIT_TIMEOUT);
        }
    }

    static class TestCase {
        @Test
        void annotatedThenBuilt(@Isolated(rootfs = "busybox.tar") IsolatedEnvironment annotated) {
            assertThat(annotated.exec("sleep", "3").timedOut())
                    .as("the @Isolated environment's exec has isolated.exec.timeout=1s")
                    .isTrue();
            try (IsolatedEnvironment built =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                assertThat(built.exec("sleep", "3").timedOut())
                        .as("the builder's exec keeps the default 60 s: no such system property")
                        .isFalse();
            }
        }
    }
}
