package dev.isolated.internal.image;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs tasks at once on a few threads: the caller's and up to {@code parallelism - 1} daemon threads started for the
 * run, which end with it. At the first failure no further task is started and the running ones are told to stop
 * (they end with an {@link UnpackStoppedException}, which is never reported); the run returns once every thread has
 * ended, and throws that first failure, with later real ones suppressed in it.
 */
final class ParallelTasks {

    /** One task. */
    @FunctionalInterface
    interface Task {

        /** Does the work; an {@link UnpackStoppedException} means it was told to stop. */
        void run() throws IOException;
    }

    private ParallelTasks() {}

    /**
     * Runs {@code tasks}, at most {@code parallelism} at once, handed out in order.
     *
     * @param threadName names the threads started, each followed by {@code #<n>}
     * @param stopRunning tells the running tasks to stop; called once, at the first failure
     * @throws IOException the first failure, or if the caller is interrupted while it waits for the others
     */
    static void run(List<Task> tasks, int parallelism, String threadName, Runnable stopRunning) throws IOException {
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism must be at least 1, got " + parallelism);
        }
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable worker = () -> {
            while (failure.get() == null) {
                int index = next.getAndIncrement();
                if (index >= tasks.size()) {
                    return;
                }
                try {
                    tasks.get(index).run();
                } catch (IOException | RuntimeException | Error e) {
                    fail(failure, e, stopRunning);
                    return;
                }
            }
        };
        List<Thread> started = new ArrayList<>();
        try {
            for (int n = 1; n < Math.min(parallelism, tasks.size()) && failure.get() == null; n++) {
                Thread thread = new Thread(worker, threadName + " #" + n);
                thread.setDaemon(true);
                thread.start();
                started.add(thread);
            }
        } catch (RuntimeException | Error e) { // no thread to be had: a failure like a task's
            fail(failure, e, stopRunning);
        }
        worker.run();
        boolean interrupted = false;
        for (Thread thread : started) {
            while (true) {
                try {
                    thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                    fail(failure, new InterruptedIOException("Interrupted while unpacking"), stopRunning);
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable first = failure.get();
        if (first instanceof IOException e) {
            throw e;
        }
        if (first instanceof RuntimeException e) {
            throw e;
        }
        if (first instanceof Error e) {
            throw e;
        }
    }

    /** Records {@code e}: the first failure stops the others; a later one is suppressed in it, unless it is a stop. */
    private static void fail(AtomicReference<Throwable> failure, Throwable e, Runnable stopRunning) {
        if (failure.compareAndSet(null, e)) {
            stopRunning.run();
        } else if (!(e instanceof UnpackStoppedException) && failure.get() != e) {
            failure.get().addSuppressed(e);
        }
    }
}
