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

    private static Outcome onInterruptedThread(Callable<?> call) throws Exception {
        AtomicReference<Outcome> outcome = new AtomicReference<>();
        Thread t = new Thread(() -> {
            Thread.currentThread().interrupt();
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
        t.join();
        return outcome.get();
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
