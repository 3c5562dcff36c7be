package dev.isolated.internal.env;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Waits that an interrupt does not cut short, for cleanup that must finish (closing an environment, stopping a
 * command whose caller was interrupted): the interrupt is kept, set again when the wait returns, for the caller's
 * code to see.
 */
final class Uninterruptibly {
    private Uninterruptibly() {}

    /**
     * {@code future.get(nanos)}, waiting on through interrupts; the thread's interrupt status is set on return when
     * it was set before or became set meanwhile.
     */
    static <T> T get(CompletableFuture<T> future, long nanos) throws ExecutionException, TimeoutException {
        long deadline = System.nanoTime() + nanos;
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Polls CONDITION every 10 ms until it holds or NANOS passed, waiting on through interrupts (the thread's
     * interrupt status is set on return when it was set before or became set meanwhile).
     *
     * @return whether it held
     */
    static boolean await(java.util.function.BooleanSupplier condition, long nanos) {
        long deadline = System.nanoTime() + nanos;
        boolean interrupted = Thread.interrupted();
        try {
            while (!condition.getAsBoolean()) {
                if (System.nanoTime() - deadline > 0) {
                    return false;
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
