package dev.isolated.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import org.junit.jupiter.api.Test;

/** The two test classes {@link FirstTestBench} runs, each alone in a fresh JVM (not run by Surefire). */
final class FirstTestFixtures {
    private FirstTestFixtures() {}

    /** One test that runs {@code /bin/true} in a fresh environment (today's defaults). */
    @Isolated(rootfs = "busybox.tar")
    static class IsolatedFirst {
        @Test
        void one(IsolatedEnvironment env) {
            assertThat(env.exec("/bin/true").exitCode()).isZero();
        }
    }

    /** The same test running {@code /bin/true} with a plain ProcessBuilder. */
    static class PlainFirst {
        @Test
        void one() throws Exception {
            assertThat(new ProcessBuilder("/bin/true").start().waitFor()).isZero();
        }
    }
}
