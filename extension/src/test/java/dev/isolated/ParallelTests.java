package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

@DisplayName("parallel execution")
class ParallelTests {
    static final int TESTS = 32;
    static final Set<Long> inits = ConcurrentHashMap.newKeySet();
    static final Set<String> threads = ConcurrentHashMap.newKeySet();
    static volatile CountDownLatch allStarted;

    @Test
    @DisplayName("dozens of concurrent tests each get their own environment, and never see each other's")
    void concurrentEnvironments() {
        inits.clear();
        threads.clear();
        allStarted = new CountDownLatch(8);

        EngineRunner.assertAllSucceeded(
                EngineRunner.run(
                        ConcurrentTestCase.class,
                        Map.of(
                                "junit.jupiter.execution.parallel.enabled", "true",
                                "junit.jupiter.execution.parallel.mode.default", "concurrent",
                                "junit.jupiter.execution.parallel.config.strategy", "fixed",
                                "junit.jupiter.execution.parallel.config.fixed.parallelism", "8")),
                TESTS);

        assertThat(inits).hasSize(TESTS);
        assertThat(threads).as("tests really ran on several threads").hasSizeGreaterThan(1);
    }

    @Isolated(rootfs = "busybox.tar")
    static class ConcurrentTestCase {
        @RepeatedTest(TESTS)
        void test(IsolatedEnvironment env, RepetitionInfo info) throws InterruptedException {
            threads.add(Thread.currentThread().getName());
            inits.add(env.initHostPid());
            String mine = "test-" + info.getCurrentRepetition();
            env.setHostname(mine);
            assertThat(env.exec("sh", "-c", "echo " + mine + " > /tmp/owner && ls /tmp"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("owner\n");
            allStarted.countDown();
            allStarted.await(10, TimeUnit.SECONDS); // make several environments exist at once
            assertThat(env.exec("sh", "-c", "hostname; cat /tmp/owner; ls /tmp"))
                    .stdout()
                    .isEqualTo(mine + "\n" + mine + "\nowner\n");
            assertThat(env.processes()).extracting(ProcessInfo::command).containsExactly("isolated-init");
        }
    }
}
