package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

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
