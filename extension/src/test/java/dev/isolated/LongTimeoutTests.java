package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Timeouts too long to ever expire (up to {@link ChronoUnit#FOREVER}, which users write for "no timeout") wait as
 * long as it takes: none overflows into an exception or into a deadline already past.
 */
@DisplayName("timeouts that never expire")
class LongTimeoutTests {
    private static final Duration FOREVER = ChronoUnit.FOREVER.getDuration();

    @Test
    @DisplayName("the builder's exec, await and startup timeouts")
    void builderTimeouts() {
        for (Duration forever : new Duration[] {FOREVER, Duration.ofDays(106_000), Duration.ofNanos(Long.MAX_VALUE)}) {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .execTimeout(forever)
                    .awaitTimeout(forever)
                    .startupTimeout(forever)
                    .start()) {
                assertThat(env.exec("sh", "-c", "sleep 0.1; echo done").stdout())
                        .isEqualTo("done\n");
                IsolatedProcess p = env.start("sh", "-c", "sleep 0.1; echo ready; exec sleep 1000");
                assertThat(p.awaitOutput(Pattern.compile("ready"))).isEqualTo("ready");
                env.awaitFile("/bin/sh");
                p.kill();
            }
        }
    }

    @Test
    @DisplayName("a command's own timeout, waitFor and a wait's timeout")
    void commandAndWaitTimeouts() {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(env.exec(Command.of("sh", "-c", "sleep 0.1; echo done").withTimeout(FOREVER))
                            .stdout())
                    .isEqualTo("done\n");
            IsolatedProcess p = env.start("sh", "-c", "sleep 0.1; exit 3");
            assertThat(p.waitFor(FOREVER).exitCode()).isEqualTo(3);
            IsolatedProcess service = env.start("sh", "-c", "sleep 0.1; echo up; exec sleep 1000");
            Wait.forLogLine("up").waitUntilReady(env, service, FOREVER);
            service.kill();
        }
    }

    @Test
    @DisplayName("a configured timeout longer than a Duration holds (isolated.exec.timeout=999999999999999999m)")
    void configuredTimeoutBeyondDuration() {
        String before = System.getProperty(IsolatedConfiguration.EXEC_TIMEOUT);
        System.setProperty(IsolatedConfiguration.EXEC_TIMEOUT, "999999999999999999m");
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(env.exec("sh", "-c", "sleep 0.1; echo done").stdout()).isEqualTo("done\n");
        } finally {
            if (before == null) {
                System.clearProperty(IsolatedConfiguration.EXEC_TIMEOUT);
            } else {
                System.setProperty(IsolatedConfiguration.EXEC_TIMEOUT, before);
            }
        }
    }
}
