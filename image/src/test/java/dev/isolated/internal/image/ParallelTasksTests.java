package dev.isolated.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("ParallelTasks runs an image's layer unpacks at once")
class ParallelTasksTests {

    private static final String NAME = "isolated-unpack-layers test";

    private final String testThread = Thread.currentThread().getName();

    @AfterEach
    void noThreadLeft() {
        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(thread -> thread.getName().startsWith(NAME));
    }

    @Test
    @DisplayName("two tasks run at the same time, on the caller's thread and a named daemon thread")
    void atOnce() throws IOException {
        CyclicBarrier both = new CyclicBarrier(2);
        Set<String> threads = ConcurrentHashMap.newKeySet();
        Set<Boolean> daemon = ConcurrentHashMap.newKeySet();
        ParallelTasks.Task meet = () -> {
            try {
                both.await(30, TimeUnit.SECONDS); // one after the other, neither would get past this
            } catch (Exception e) {
                throw new IOException("the other task did not run at the same time", e);
            }
            if (!Thread.currentThread().getName().equals(testThread)) {
                threads.add(Thread.currentThread().getName());
                daemon.add(Thread.currentThread().isDaemon());
            }
        };

        ParallelTasks.run(List.of(meet, meet), 4, NAME, () -> {});

        assertThat(threads).containsExactly(NAME + " #1");
        assertThat(daemon).containsExactly(true);
    }

    @Test
    @DisplayName("never runs more tasks at once than asked")
    void bounded() throws IOException {
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        List<ParallelTasks.Task> tasks = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            tasks.add(() -> {
                most.accumulateAndGet(running.incrementAndGet(), Math::max);
                Thread.yield();
                running.decrementAndGet();
            });
        }

        ParallelTasks.run(tasks, 3, NAME, () -> {});

        assertThat(most.get()).isBetween(1, 3);
    }

    @Test
    @DisplayName("the first failure is thrown, the running tasks are stopped and their stops are not reported")
    void firstFailure() {
        ImageBudget budget = new ImageBudget(UnpackLimits.defaults());
        CountDownLatch counting = new CountDownLatch(1);
        AtomicInteger stopped = new AtomicInteger();
        ParallelTasks.Task endless = () -> {
            try {
                while (true) {
                    budget.addEntry();
                    counting.countDown();
                }
            } catch (UnpackStoppedException e) {
                stopped.incrementAndGet();
                throw e;
            }
        };
        ImageUnpackException corrupt = new ImageUnpackException("Image test, layer 2 of 2: corrupt");
        ParallelTasks.Task failing = () -> {
            try {
                counting.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            throw corrupt;
        };
        AtomicInteger neverStarted = new AtomicInteger();

        assertThatThrownBy(() -> ParallelTasks.run(
                        List.of(endless, failing, neverStarted::incrementAndGet), 2, NAME, budget::stop))
                .isSameAs(corrupt)
                .satisfies(e -> assertThat(e.getSuppressed()).isEmpty());
        assertThat(stopped).hasValue(1);
        assertThat(neverStarted).hasValue(0);
    }

    @Test
    @DisplayName("a later real failure is kept as suppressed in the first")
    void laterFailureSuppressed() {
        CyclicBarrier both = new CyclicBarrier(2);
        CountDownLatch stopCalled = new CountDownLatch(1);
        IOException first = new IOException("first");
        IOException second = new IOException("second");
        ParallelTasks.Task one = () -> {
            await(both);
            throw first;
        };
        ParallelTasks.Task two = () -> {
            await(both);
            try {
                stopCalled.await(30, TimeUnit.SECONDS); // fails after the first, which stopped the others
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            throw second;
        };

        assertThatThrownBy(() -> ParallelTasks.run(List.of(one, two), 2, NAME, stopCalled::countDown))
                .isSameAs(first)
                .satisfies(e -> assertThat(e.getSuppressed()).containsExactly(second));
    }

    private static void await(CyclicBarrier barrier) throws IOException {
        try {
            barrier.await(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException(e);
        }
    }
}
