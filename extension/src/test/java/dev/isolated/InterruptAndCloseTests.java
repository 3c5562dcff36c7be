package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("a thread waiting in the API, interrupted or with its environment closed by another thread")
class InterruptAndCloseTests {
    /** Longer than a test waits for a thread to end ({@link #ENDS}): a wait that ignored the interrupt runs on. */
    private static final Duration LONG = Duration.ofMinutes(10);
    /** How long a test waits for the waiting thread to end once interrupted (or its environment closed). */
    private static final Duration ENDS = Duration.ofMinutes(1);

    /** What a thread's call got: its result or exception, and whether the thread was interrupted after it. */
    record Outcome(Object result, Throwable thrown, boolean interruptedAfter) {}

    /**
     * Runs {@code call} on a thread of its own until the thread waits (parked or sleeping), does {@code then} to it,
     * and returns what the call got once the thread ended.
     */
    static Outcome blockedThen(Callable<?> call, java.util.function.Consumer<Thread> then) throws Exception {
        AtomicReference<Outcome> outcome = new AtomicReference<>();
        Thread t = new Thread(() -> {
            Object result = null;
            Throwable thrown = null;
            try {
                result = call.call();
            } catch (Throwable e) {
                thrown = e;
            }
            outcome.set(new Outcome(result, thrown, Thread.currentThread().isInterrupted()));
        });
        t.start();
        while (t.isAlive() && t.getState() != Thread.State.TIMED_WAITING && t.getState() != Thread.State.WAITING) {
            Thread.sleep(5);
        }
        then.accept(t);
        t.join(ENDS.toMillis());
        assertThat(t.isAlive()).as("the waiting thread ended").isFalse();
        return outcome.get();
    }

    private static IsolatedEnvironment busybox() {
        return IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .awaitTimeout(LONG)
                .startupTimeout(LONG)
                .execTimeout(LONG)
                .start();
    }

    @Test
    @DisplayName("exec interrupted: IsolatedException, the interrupt kept, the command and its process group killed")
    void execInterrupted() throws Exception {
        String seconds = HostSleepers.ownSeconds(60);
        try (IsolatedEnvironment env = busybox()) {
            Outcome o = blockedThen(
                    () -> env.exec("sh", "-c", "sleep " + seconds + " & sleep " + seconds), Thread::interrupt);

            assertThat(o.thrown())
                    .isExactlyInstanceOf(IsolatedException.class)
                    .hasMessage("Interrupted while waiting for [sh, -c, sleep " + seconds + " & sleep " + seconds
                            + "]: it was killed (SIGKILL to its process group)")
                    .hasCauseInstanceOf(InterruptedException.class);
            assertThat(o.interruptedAfter()).isTrue();
            assertThat(HostSleepers.of(seconds)).isEmpty();
            assertThat(env.processes()).extracting(ProcessInfo::command).containsExactly("isolated-init");
            assertThat(env.exec("echo", "next")).stdout().isEqualTo("next\n");
        }
    }

    @Test
    @DisplayName("exec of a command with stdin on an interrupted thread: the same IsolatedException, the interrupt "
            + "kept, the command and its process group killed")
    void execWithStdinInterrupted() throws Exception {
        String seconds = HostSleepers.ownSeconds(67);
        String script = "cat >/dev/null; sleep " + seconds + " & sleep " + seconds;
        try (IsolatedEnvironment env = busybox()) {
            // interrupted before the helper's SPAWNED came: exec waits for it to write the stdin
            Outcome o = onInterruptedThread(
                    () -> env.exec(Command.of("sh", "-c", script).withStdin("input\n")));

            assertThat(o.thrown())
                    .isExactlyInstanceOf(IsolatedException.class)
                    .hasMessage("Interrupted while waiting for [sh, -c, " + script
                            + "]: it was killed (SIGKILL to its process group)")
                    .hasCauseInstanceOf(InterruptedException.class);
            assertThat(o.interruptedAfter()).isTrue();
            // exec returns at the exit of sh; what it started got the SIGKILL too, and may take a moment to end
            org.awaitility.Awaitility.await()
                    .atMost(ENDS)
                    .untilAsserted(() -> assertThat(env.processes())
                            .extracting(ProcessInfo::command)
                            .containsExactly("isolated-init"));
            assertThat(HostSleepers.of(seconds)).isEmpty();
            assertThat(env.exec(Command.of("cat").withStdin("next\n"))).stdout().isEqualTo("next\n");
        }
    }

    @Test
    @DisplayName("waitFor, awaitExit and awaitOutput interrupted: IsolatedException, the interrupt kept, the process "
            + "runs on until its environment closes")
    void processWaitsInterrupted() throws Exception {
        String seconds = HostSleepers.ownSeconds(61);
        record ProcessWait(String name, String forWhat, java.util.function.Function<IsolatedProcess, Object> call) {}
        List<ProcessWait> waits = List.of(
                new ProcessWait("waitFor", "to exit", p -> p.waitFor(LONG)),
                new ProcessWait("awaitExit", "to exit", IsolatedProcess::awaitExit),
                new ProcessWait(
                        "awaitOutput",
                        "to print a line matching /ready/",
                        p -> p.awaitOutput(Pattern.compile("ready"))));
        for (ProcessWait wait : waits) {
            IsolatedProcess sleeper;
            try (IsolatedEnvironment env = busybox()) {
                sleeper = env.start("sleep", seconds);
                Outcome o = blockedThen(() -> wait.call().apply(sleeper), Thread::interrupt);

                assertThat(o.thrown())
                        .as(wait.name())
                        .isExactlyInstanceOf(IsolatedException.class)
                        .hasMessage("Interrupted while waiting for [sleep, " + seconds + "] (host pid "
                                + sleeper.hostPid() + ") " + wait.forWhat()
                                + "; it still runs (kill() stops it, as closing its environment does)")
                        .hasCauseInstanceOf(InterruptedException.class);
                assertThat(o.interruptedAfter()).isTrue();
                assertThat(sleeper.isAlive()).isTrue();
                assertThat(HostSleepers.of(seconds)).containsExactly(sleeper.hostPid());
            }
            assertThat(sleeper.isAlive()).isFalse();
            assertThat(HostSleepers.of(seconds)).isEmpty();
        }
    }

    @Test
    @DisplayName("awaitPort and awaitFile interrupted: IsolatedException at once, not at the await timeout, the "
            + "interrupt kept")
    void environmentAwaitsInterrupted() throws Exception {
        try (IsolatedEnvironment env = busybox()) {
            Outcome port = blockedThen(
                    () -> {
                        env.awaitPort(8080);
                        return null;
                    },
                    Thread::interrupt);
            Outcome file = blockedThen(
                    () -> {
                        env.awaitFile("/run/ready");
                        return null;
                    },
                    Thread::interrupt);

            assertThat(port.thrown())
                    .isExactlyInstanceOf(IsolatedException.class)
                    .hasMessage("Interrupted while waiting for TCP port 8080 to listen in " + env)
                    .hasCauseInstanceOf(InterruptedException.class);
            assertThat(port.interruptedAfter()).isTrue();
            assertThat(file.thrown())
                    .isExactlyInstanceOf(IsolatedException.class)
                    .hasMessage("Interrupted while waiting for /run/ready to appear in " + env);
            assertThat(file.interruptedAfter()).isTrue();
        }
    }

    @Test
    @DisplayName("Wait.waitUntilReady interrupted: IsolatedException, the interrupt kept, the service left running")
    void waitUntilReadyInterrupted() throws Exception {
        try (IsolatedEnvironment env = busybox()) {
            IsolatedProcess service = env.start("sleep", HostSleepers.ownSeconds(62));
            Outcome o = blockedThen(
                    () -> {
                        Wait.forLogLine("ready").waitUntilReady(env, service);
                        return null;
                    },
                    Thread::interrupt);

            assertThat(o.thrown())
                    .isExactlyInstanceOf(IsolatedException.class)
                    .hasMessage(
                            "Interrupted while waiting for [sleep, " + HostSleepers.ownSeconds(62) + "] to be ready");
            assertThat(o.interruptedAfter()).isTrue();
            assertThat(service.isAlive()).isTrue();
        }
    }

    @Test
    @DisplayName("EnvironmentPool.take interrupted: IsolatedException, the interrupt kept; the pool still closes")
    void takeInterrupted() throws Exception {
        busybox().close(); // the helper is up
        List<Long> before = SpareEnvironmentTests.liveInitsOfHelper();
        CountDownLatch release = new CountDownLatch(1);
        EnvironmentPool pool = EnvironmentPool.of(1, () -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return IsolatedEnvironment.builder().rootfs("busybox.tar").start();
        });
        Outcome o = blockedThen(pool::take, Thread::interrupt);

        assertThat(o.thrown())
                .isExactlyInstanceOf(IsolatedException.class)
                .hasMessageMatching("Interrupted while waiting for an environment of "
                        + "EnvironmentPool\\[isolated-pool-\\d+, ready 1, waiting 0]");
        assertThat(o.interruptedAfter()).isTrue();
        release.countDown();
        pool.close();
        assertThat(SpareEnvironmentTests.liveInitsOfHelper()).isEqualTo(before);
    }

    @Test
    @DisplayName("builder().start() on an interrupted thread: IsolatedException, the interrupt kept, and the "
            + "environment the helper began is closed, not left to the JVM's exit")
    void startInterrupted() throws Exception {
        busybox().close(); // the helper is up
        List<Long> before = SpareEnvironmentTests.liveInitsOfHelper();
        Outcome o = onInterruptedThread(
                () -> IsolatedEnvironment.builder().rootfs("busybox.tar").start());

        assertThat(o.thrown())
                .isExactlyInstanceOf(IsolatedException.class)
                .hasMessage("Interrupted while the isolated helper created the environment; it was closed");
        assertThat(o.interruptedAfter()).isTrue();
        assertThat(SpareEnvironmentTests.liveInitsOfHelper()).isEqualTo(before);
    }

    @Test
    @DisplayName("close() on an interrupted thread closes the environment, its disk layer too, throws nothing and "
            + "keeps the interrupt")
    void closeOnInterruptedThread(@TempDir Path dir) throws Exception {
        Path layers = dir.resolve("layers");
        IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .configuration(key -> key.equals(IsolatedConfiguration.LAYER_DIR)
                        ? Optional.of(layers.toString())
                        : Optional.ofNullable(System.getProperty(key)))
                .writableLayer(LayerStorage.DISK)
                .start();
        IsolatedProcess sleeper = env.start("sleep", HostSleepers.ownSeconds(63));
        assertThat(WritableLayerTests.diskLayers(layers)).hasSize(1);

        Outcome o = onInterruptedThread(() -> {
            env.close();
            return "closed";
        });

        assertThat(o.thrown()).isNull();
        assertThat(o.result()).isEqualTo("closed");
        assertThat(o.interruptedAfter()).isTrue();
        assertThat(sleeper.isAlive()).isFalse();
        assertThat(HostSleepers.of(HostSleepers.ownSeconds(63))).isEmpty();
        assertThat(WritableLayerTests.diskLayers(layers)).isEmpty();
    }

    @Test
    @DisplayName("kill() and signal() on an interrupted thread: the signal is sent, kill() returns the result, the "
            + "interrupt is kept")
    void killOnInterruptedThread() throws Exception {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            IsolatedProcess ignoresTerm = env.start("sh", "-c", "trap '' TERM; echo ready; exec sleep 600");
            ignoresTerm.awaitOutput(Pattern.compile("ready"));
            IsolatedProcess sleeper = env.start("sleep", "600");

            Outcome signalled = onInterruptedThread(() -> {
                sleeper.signal(15);
                return "signalled";
            });
            assertThat(signalled.thrown()).isNull();
            assertThat(signalled.interruptedAfter()).isTrue();
            assertThat(sleeper.waitFor(ENDS).exitCode())
                    .as("SIGTERM reached it")
                    .isEqualTo(143);

            Outcome killed = onInterruptedThread(() -> ignoresTerm.kill().exitCode());
            assertThat(killed.thrown()).isNull();
            assertThat(killed.result()).isEqualTo(137);
            assertThat(killed.interruptedAfter()).isTrue();
            assertThat(ignoresTerm.isAlive()).isFalse();
        }
    }

    @Test
    @DisplayName("JUnit's @Timeout interrupting exec: the test fails with its TimeoutException, the command is killed, "
            + "and the environment closes without an EnvironmentCleanupException")
    void junitTimeout() throws Exception {
        TimedOutTestCase.seconds = HostSleepers.ownSeconds(66);
        var results = EngineRunner.run(TimedOutTestCase.class);

        results.testEvents().assertStatistics(stats -> stats.started(1).failed(1));
        Throwable failure = results.testEvents().failed().stream()
                .findFirst()
                .orElseThrow()
                .getPayload(org.junit.platform.engine.TestExecutionResult.class)
                .orElseThrow()
                .getThrowable()
                .orElseThrow();
        assertThat(failure)
                .isInstanceOf(java.util.concurrent.TimeoutException.class)
                .hasMessageContaining("timed out after 1 second");
        assertThat(failure.getSuppressed())
                .anySatisfy(e -> assertThat(e)
                        .isExactlyInstanceOf(IsolatedException.class)
                        .hasMessage("Interrupted while waiting for [sleep, " + TimedOutTestCase.seconds
                                + "]: it was killed (SIGKILL to its process group)"))
                .noneMatch(e -> e instanceof EnvironmentCleanupException);
        results.containerEvents().assertStatistics(stats -> stats.failed(0));
        assertThat(HostSleepers.of(TimedOutTestCase.seconds)).isEmpty();
        assertThat(SpareEnvironmentTests.liveInitsOfHelper()).isEmpty();
    }

    @Isolated(rootfs = "busybox.tar")
    static class TimedOutTestCase {
        static volatile String seconds;

        @Test
        @org.junit.jupiter.api.Timeout(1)
        void hangs(IsolatedEnvironment env) {
            env.exec("sleep", seconds);
        }
    }

    /** Runs {@code call} on a thread of its own whose interrupt status is set before the call. */
    private static Outcome onInterruptedThread(Callable<?> call) throws Exception {
        return blockedThen(
                () -> {
                    Thread.currentThread().interrupt();
                    return call.call();
                },
                t -> {});
    }

    @Test
    @DisplayName(
            "close() from another thread: exec and waitFor return exit code 137 (signal 9), awaitOutput throws "
                    + "IllegalStateException with the exit code, awaitPort and awaitFile the closed message; no command is left")
    void closedWhileWaiting() throws Exception {
        String seconds = HostSleepers.ownSeconds(64);
        IsolatedEnvironment execEnv = busybox();
        Outcome exec = blockedThen(() -> execEnv.exec("sleep", seconds), t -> execEnv.close());
        assertThat((ExecResult) exec.result()).exitedWith(137);
        assertThat(((ExecResult) exec.result()).signal()).hasValue(9);

        IsolatedEnvironment waitEnv = busybox();
        IsolatedProcess waited = waitEnv.start("sleep", seconds);
        Outcome waitFor = blockedThen(() -> waited.waitFor(LONG), t -> waitEnv.close());
        assertThat((ExecResult) waitFor.result()).exitedWith(137);

        IsolatedEnvironment outputEnv = busybox();
        IsolatedProcess printing = outputEnv.start("sleep", seconds);
        Outcome output = blockedThen(() -> printing.awaitOutput(Pattern.compile("ready")), t -> outputEnv.close());
        assertThat(output.thrown())
                .isExactlyInstanceOf(IllegalStateException.class)
                .hasMessage("[sleep, " + seconds + "] exited (137) without printing a line matching /ready/; "
                        + "stdout so far: (empty); stderr so far: (empty)");

        for (String what : List.of("port", "file")) {
            IsolatedEnvironment env = busybox();
            Outcome o = blockedThen(
                    () -> {
                        if (what.equals("port")) {
                            env.awaitPort(8080);
                        } else {
                            env.awaitFile("/run/ready");
                        }
                        return null;
                    },
                    t -> env.close());
            assertThat(o.thrown())
                    .as(what)
                    .isExactlyInstanceOf(IllegalStateException.class)
                    .hasMessage("This isolated environment is closed: close() was called, or the extension closed it "
                            + "when its test (with Lifecycle.PER_CLASS, its class) ended");
        }
        assertThat(HostSleepers.of(seconds)).isEmpty();
    }

    @Test
    @DisplayName("close() from two threads at once: neither throws, and each returns once the processes have exited")
    void closedTwiceAtOnce() throws Exception {
        for (int i = 0; i < 20; i++) {
            IsolatedEnvironment env = busybox();
            IsolatedProcess sleeper = env.start("sleep", HostSleepers.ownSeconds(65));
            CountDownLatch go = new CountDownLatch(1);
            AtomicReference<Outcome> other = new AtomicReference<>();
            Thread t = new Thread(() -> {
                Throwable thrown = null;
                try {
                    go.await();
                    env.close();
                } catch (Throwable e) {
                    thrown = e;
                }
                other.set(new Outcome(sleeper.isAlive(), thrown, false));
            });
            t.start();
            go.countDown();
            env.close();
            boolean aliveAfterMine = sleeper.isAlive();
            t.join();

            assertThat(other.get().thrown()).as("the other thread's close").isNull();
            assertThat(other.get().result())
                    .as("alive after the other thread's close")
                    .isEqualTo(false);
            assertThat(aliveAfterMine).as("alive after this thread's close").isFalse();
        }
        assertThat(HostSleepers.of(HostSleepers.ownSeconds(65))).isEmpty();
    }
}
