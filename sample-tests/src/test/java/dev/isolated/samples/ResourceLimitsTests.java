package dev.isolated.samples;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.ExecResult;
import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.Limits;
import org.junit.jupiter.api.Test;

/** A greedy command stays in its environment's cgroup: memory and processes are capped, an OOM kill says so. */
@Isolated(rootfs = "busybox.tar")
class ResourceLimitsTests {

    @Test
    @Limits(memoryBytes = 32 << 20)
    void aMemoryHogIsOomKilledAndTheResultSaysSo(IsolatedEnvironment env) {
        ExecResult hog = env.exec("sh", "-c", "tail /dev/zero");

        assertThat(hog.oomKilled()).isTrue();
        assertThat(hog).exitedWith(137);
        assertThat(env.resourceUsage().memoryPeakBytes()).isLessThanOrEqualTo(33 << 20);
    }

    @Test
    @Limits(pids = 10)
    void aForkBombHitsThePidsLimit(IsolatedEnvironment env) {
        ExecResult bomb = env.exec("sh", "-c", "while true; do sleep 60 & done");

        assertThat(bomb).failed().stderr().contains("can't fork");
        assertThat(env.resourceUsage().processes()).isLessThanOrEqualTo(10);
        assertThat(env.processes()).hasSizeLessThanOrEqualTo(10);
    }
}
