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

    @Test
    @DisplayName("builder() never reads isolated.rootfs or isolated.namespaces, the annotations' defaults")
    void builderIgnoresTheAnnotationDefaults() {
        String rootfs = System.getProperty(IsolatedConfiguration.ROOTFS);
        String namespaces = System.getProperty(IsolatedConfiguration.NAMESPACES);
        System.setProperty(IsolatedConfiguration.ROOTFS, "busybox.tar");
        System.setProperty(IsolatedConfiguration.NAMESPACES, "PID,MOUNT");
        try {
            assertThatThrownBy(() -> IsolatedEnvironment.builder().start())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("No rootfs: ");
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                assertThat(env.namespaces())
                        .containsExactlyInAnyOrder(
                                LinuxNamespace.PID,
                                LinuxNamespace.MOUNT,
                                LinuxNamespace.UTS,
                                LinuxNamespace.IPC,
                                LinuxNamespace.NET,
                                LinuxNamespace.CGROUP,
                                LinuxNamespace.USER);
            }
        } finally {
            restore(IsolatedConfiguration.ROOTFS, rootfs);
            restore(IsolatedConfiguration.NAMESPACES, namespaces);
        }
    }

    @Test
    @DisplayName(
            "a zero or negative timeout is refused: the builder's methods, a system property for builder(), a launcher parameter for @Isolated")
    void timeoutsMustBePositive() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder().execTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("execTimeout(PT0S): it must be positive");
        assertThatThrownBy(() -> IsolatedEnvironment.builder().awaitTimeout(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("awaitTimeout(PT-1S): it must be positive");

        String exec = System.getProperty(IsolatedConfiguration.EXEC_TIMEOUT);
        System.setProperty(IsolatedConfiguration.EXEC_TIMEOUT, "0s");
        try {
            assertThatThrownBy(() ->
                            IsolatedEnvironment.builder().rootfs("busybox.tar").start())
                    .isInstanceOf(org.junit.jupiter.api.extension.ExtensionConfigurationException.class)
                    .hasMessage(
                            "Cannot read isolated.exec.timeout=0s: a timeout must be positive, e.g. 500ms, 30s or 2m");
        } finally {
            restore(IsolatedConfiguration.EXEC_TIMEOUT, exec);
        }

        EngineExecutionResults results =
                EngineRunner.run(PlainTestCase.class, Map.of(IsolatedConfiguration.AWAIT_TIMEOUT, "-1s"));
        assertThat(results.testEvents().failed().stream()
                        .map(e -> e.getPayload(org.junit.platform.engine.TestExecutionResult.class)
                                .orElseThrow()
                                .getThrowable()
                                .orElseThrow()
                                .getMessage())
                        .toList())
                .containsExactly(
                        "Cannot read isolated.await.timeout=-1s: a timeout must be positive, e.g. 500ms, 30s or 2m");
    }

    @Test
    @DisplayName("a timeout without a unit is refused, as README's Configuration says: a launcher parameter for "
            + "@Isolated, a system property for builder()")
    void timeoutsNeedAUnit() {
        EngineExecutionResults results =
                EngineRunner.run(PlainTestCase.class, Map.of(IsolatedConfiguration.EXEC_TIMEOUT, "30"));
        java.util.List<Throwable> failures = results.testEvents().failed().stream()
                .map(e -> e.getPayload(org.junit.platform.engine.TestExecutionResult.class)
                        .orElseThrow()
                        .getThrowable()
                        .orElseThrow())
                .toList();
        assertThat(failures).hasSize(1);
        assertThat(failures.get(0))
                .isInstanceOf(org.junit.jupiter.api.extension.ExtensionConfigurationException.class)
                .hasMessage("Cannot read isolated.exec.timeout=30: write a number with a unit, e.g. 500ms, 30s or 2m");

        String await = System.getProperty(IsolatedConfiguration.AWAIT_TIMEOUT);
        System.setProperty(IsolatedConfiguration.AWAIT_TIMEOUT, "5");
        try {
            assertThatThrownBy(() ->
                            IsolatedEnvironment.builder().rootfs("busybox.tar").start())
                    .isInstanceOf(org.junit.jupiter.api.extension.ExtensionConfigurationException.class)
                    .hasMessage(
                            "Cannot read isolated.await.timeout=5: write a number with a unit, e.g. 500ms, 30s or 2m");
        } finally {
            restore(IsolatedConfiguration.AWAIT_TIMEOUT, await);
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class PlainTestCase {
        @Test
        void test(IsolatedEnvironment env) {}
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
