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
}
