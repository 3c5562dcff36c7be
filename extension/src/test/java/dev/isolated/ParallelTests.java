package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.internal.helper.SharedHelper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.testkit.engine.EngineTestKit;

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

    @Test
    @DisplayName("test methods, PER_CLASS and @Nested classes run concurrently with spares on: each test gets its own "
            + "environment (hostname, mounts, processes), a PER_CLASS class's tests share theirs, and afterwards the "
            + "helper holds no init, cgroup or mount of them")
    void classesAndNestedConcurrently() throws IOException {
        seen.clear();
        together = new CountDownLatch(6);
        long helper = SharedHelper.get().pid();
        long hostMounts = hostMounts();

        var results = EngineTestKit.engine("junit-jupiter")
                .selectors(
                        DiscoverySelectors.selectClass(MethodsTestCase.class),
                        DiscoverySelectors.selectClass(PerClassTestCase.class),
                        DiscoverySelectors.selectClass(NestedTestCase.class))
                .configurationParameters(Map.of(
                        "junit.jupiter.execution.parallel.enabled", "true",
                        "junit.jupiter.execution.parallel.mode.default", "concurrent",
                        "junit.jupiter.execution.parallel.config.strategy", "fixed",
                        "junit.jupiter.execution.parallel.config.fixed.parallelism", "6"))
                .execute();
        EngineRunner.assertAllSucceeded(results, 13);

        List<Seen> own = seen.stream()
                .filter(s -> !s.hostname().equals("perclasstestcase"))
                .toList();
        List<Seen> shared = seen.stream()
                .filter(s -> s.hostname().equals("perclasstestcase"))
                .toList();
        assertThat(own)
                .extracting(Seen::test, Seen::hostname)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple("alpha", "alpha"),
                        org.assertj.core.groups.Tuple.tuple("beta", "beta"),
                        org.assertj.core.groups.Tuple.tuple("gamma", "gamma"),
                        org.assertj.core.groups.Tuple.tuple("repeated", "repeated"),
                        org.assertj.core.groups.Tuple.tuple("repeated", "repeated"),
                        org.assertj.core.groups.Tuple.tuple("repeated", "repeated"),
                        org.assertj.core.groups.Tuple.tuple("outer", "outer"),
                        org.assertj.core.groups.Tuple.tuple("inner", "inner"),
                        org.assertj.core.groups.Tuple.tuple("deeper", "deep"));
        assertThat(own).extracting(Seen::init).doesNotHaveDuplicates();
        assertThat(own).extracting(Seen::mountNamespace).doesNotHaveDuplicates();
        assertThat(shared).extracting(Seen::test).containsExactlyInAnyOrder("one", "two", "three", "nested");
        assertThat(shared).extracting(Seen::init).containsOnly(shared.get(0).init());
        assertThat(own).extracting(Seen::init).doesNotContain(shared.get(0).init());

        assertThat(ProcessHandle.of(helper).orElseThrow().descendants())
                .as("the helper's processes but its lock keeper: inits, zygotes, commands")
                .filteredOn(p -> !comm(p.pid()).equals("isolated-locks"))
                .isEmpty();
        assertThat(envCgroups(helper)).as("environment cgroups of the helper").isEmpty();
        assertThat(hostMounts()).as("the host's mounts").isEqualTo(hostMounts);
    }

    @Test
    @DisplayName("concurrent failing tests: each failure carries the report of its own environment, and the tests "
            + "beside them pass")
    void failuresReportTheirOwnEnvironment() {
        failing = new CountDownLatch(6);
        var results = EngineRunner.run(
                FailingConcurrentlyTestCase.class,
                Map.of(
                        "junit.jupiter.execution.parallel.enabled", "true",
                        "junit.jupiter.execution.parallel.mode.default", "concurrent",
                        "junit.jupiter.execution.parallel.config.strategy", "fixed",
                        "junit.jupiter.execution.parallel.config.fixed.parallelism", "6"));

        results.testEvents().assertStatistics(s -> s.succeeded(3).failed(3));
        for (var failed : results.testEvents().failed().list()) {
            String test = failed.getTestDescriptor().getDisplayName();
            String report = failed.getRequiredPayload(org.junit.platform.engine.TestExecutionResult.class)
                    .getThrowable()
                    .orElseThrow()
                    .getSuppressed()[0]
                    .getMessage();
            String name = test.substring(test.indexOf('[') + 1, test.indexOf(']')); // the index: the value too
            assertThat(report)
                    .as(test)
                    .contains("[echo, " + name + "] -> exit 0", "Hostname: fails")
                    .doesNotContain("[echo, " + (name.equals("1") ? "3" : "1") + "]");
        }
    }

    static volatile CountDownLatch failing;

    /** What one test saw of its environment. */
    record Seen(String test, long init, String mountNamespace, String hostname) {}

    static final List<Seen> seen = new CopyOnWriteArrayList<>();
    static volatile CountDownLatch together;

    /**
     * Records the environment and checks it is the test's own: what it writes to {@code /tmp} and the command it
     * starts are all that it finds there once several tests' environments exist at once.
     */
    static void record(String test, IsolatedEnvironment env) throws Exception {
        String hostname = env.exec("hostname").stdout().strip();
        seen.add(new Seen(
                test,
                env.initHostPid(),
                Files.readSymbolicLink(Path.of("/proc", Long.toString(env.initHostPid()), "ns", "mnt"))
                        .toString(),
                hostname));
        if (hostname.equals("perclasstestcase")) {
            return; // shared by the class's tests
        }
        IsolatedProcess sleeper = env.start("sleep", "1000");
        assertThat(env.exec("sh", "-c", "echo " + test + " > /tmp/owner")).succeeded();
        together.countDown();
        together.await(10, TimeUnit.SECONDS); // several environments at once
        assertThat(env.exec("sh", "-c", "cat /tmp/*")).stdout().isEqualTo(test + "\n");
        assertThat(env.processes())
                .extracting(ProcessInfo::hostPid)
                .containsExactlyInAnyOrder(env.initHostPid(), sleeper.hostPid());
        sleeper.kill();
    }

    private static long hostMounts() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).size();
    }

    /** @return {@code /proc/PID/comm}, stripped; "" once the process is gone */
    static String comm(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "comm"))
                    .strip();
        } catch (IOException gone) {
            return "";
        }
    }

    private static List<Path> envCgroups(long helper) throws IOException {
        try (Stream<Path> dirs = Files.find(
                Path.of("/sys/fs/cgroup"),
                8,
                (p, a) -> a.isDirectory()
                        && p.getFileName() != null
                        && p.getFileName().toString().startsWith("isolated-" + helper + "-"))) {
            return dirs.collect(Collectors.toList());
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class MethodsTestCase {
        @Test
        void alpha(IsolatedEnvironment env) throws Exception {
            record("alpha", env);
        }

        @Test
        void beta(IsolatedEnvironment env) throws Exception {
            record("beta", env);
        }

        @Test
        void gamma(IsolatedEnvironment env) throws Exception {
            record("gamma", env);
        }

        @RepeatedTest(3)
        void repeated(IsolatedEnvironment env) throws Exception {
            record("repeated", env);
        }
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class PerClassTestCase {
        @Test
        void one(IsolatedEnvironment env) throws Exception {
            record("one", env);
        }

        @Test
        void two(IsolatedEnvironment env) throws Exception {
            record("two", env);
        }

        @Nested
        class Inner {
            @Test
            void three(IsolatedEnvironment env) throws Exception {
                record("three", env);
            }

            @Test
            void nested(IsolatedEnvironment env) throws Exception {
                record("nested", env);
            }
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class NestedTestCase {
        @Test
        void outer(IsolatedEnvironment env) throws Exception {
            record("outer", env);
        }

        @Nested
        class Inner {
            @Test
            void inner(IsolatedEnvironment env) throws Exception {
                record("inner", env);
            }

            @Nested
            @Isolated(hostname = "deep")
            class Deeper {
                @Test
                void deeper(IsolatedEnvironment env) throws Exception {
                    record("deeper", env);
                }
            }
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class FailingConcurrentlyTestCase {
        @ParameterizedTest
        @ValueSource(strings = {"1", "2", "3"})
        void fails(String name, IsolatedEnvironment env) throws InterruptedException {
            assertThat(env.exec("echo", name)).succeeded();
            failing.countDown();
            failing.await(10, TimeUnit.SECONDS); // all six environments exist at once
            assertThat(env.exec("false")).succeeded();
        }

        @ParameterizedTest
        @ValueSource(strings = {"4", "5", "6"})
        void passes(String name, IsolatedEnvironment env) throws InterruptedException {
            assertThat(env.exec("echo", name)).succeeded();
            failing.countDown();
            failing.await(10, TimeUnit.SECONDS);
        }
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
