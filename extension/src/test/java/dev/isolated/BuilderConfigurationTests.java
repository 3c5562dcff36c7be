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
    @DisplayName("builder() takes isolated.exec.timeout and isolated.await.timeout from system properties; its own "
            + "execTimeout and awaitTimeout win")
    void builderReadsTimeoutsFromSystemProperties() {
        String exec = System.getProperty(IsolatedConfiguration.EXEC_TIMEOUT);
        String await = System.getProperty(IsolatedConfiguration.AWAIT_TIMEOUT);
        System.setProperty(IsolatedConfiguration.EXEC_TIMEOUT, "1s");
        System.setProperty(IsolatedConfiguration.AWAIT_TIMEOUT, "300ms");
        try {
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                assertThat(env.exec("sleep", "3").timedOut())
                        .as("exec under -Disolated.exec.timeout=1s")
                        .isTrue();
                assertThatThrownBy(() -> env.awaitFile("/tmp/never"))
                        .isInstanceOf(AwaitTimeoutException.class)
                        .hasMessageContaining("300 ms");
            }
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .execTimeout(Duration.ofSeconds(30))
                    .awaitTimeout(Duration.ofMillis(700))
                    .start()) {
                assertThat(env.exec("sleep", "2").timedOut())
                        .as("the builder's execTimeout over the property")
                        .isFalse();
                assertThatThrownBy(() -> env.awaitFile("/tmp/never"))
                        .isInstanceOf(AwaitTimeoutException.class)
                        .hasMessageContaining("700 ms");
            }
        } finally {
            restore(IsolatedConfiguration.EXEC_TIMEOUT, exec);
            restore(IsolatedConfiguration.AWAIT_TIMEOUT, await);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
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
