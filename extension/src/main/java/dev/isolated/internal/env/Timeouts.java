package dev.isolated.internal.env;

import java.time.Duration;

/**
 * Timeouts as waits and deadlines that cannot overflow: a timeout longer than {@link #LONGEST} (about 73 years, up to
 * {@code ChronoUnit.FOREVER}, which users write for "no timeout") waits that long, instead of throwing
 * {@code ArithmeticException} from {@code toNanos()} or wrapping {@code System.nanoTime() + nanos} into a deadline
 * already past.
 */
public final class Timeouts {
    /** The longest wait: a quarter of {@code Long.MAX_VALUE} nanoseconds, so that a deadline never overflows. */
    public static final Duration LONGEST = Duration.ofNanos(Long.MAX_VALUE / 4);

    private Timeouts() {}

    /** @return {@code timeout}, or {@link #LONGEST} when it is longer */
    public static Duration capped(Duration timeout) {
        return timeout.compareTo(LONGEST) > 0 ? LONGEST : timeout;
    }

    /** @return {@code timeout} in nanoseconds, at most {@link #LONGEST}'s */
    public static long nanos(Duration timeout) {
        return capped(timeout).toNanos();
    }

    /** @return {@code timeout} in milliseconds, at most {@link #LONGEST}'s, for messages */
    public static long millis(Duration timeout) {
        return capped(timeout).toMillis();
    }

    /**
     * @return {@code awaitTimeout} for the message of a wait that ran out of it, with the settings that lengthen it:
     *     {@code 300 ms (the await timeout: isolated.await.timeout, or builder().awaitTimeout(...))}
     */
    public static String awaitTimeout(Duration awaitTimeout) {
        return millis(awaitTimeout) + " ms (the await timeout: isolated.await.timeout, or builder().awaitTimeout(...))";
    }

    /** @return the {@code System.nanoTime()} at which {@code timeout} from now expires */
    public static long deadline(Duration timeout) {
        return System.nanoTime() + nanos(timeout);
    }
}
