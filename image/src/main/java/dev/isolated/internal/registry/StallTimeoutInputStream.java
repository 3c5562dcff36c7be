package dev.isolated.internal.registry;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A response body whose reads fail with {@link Stalled} when no byte arrives for {@code timeout}: the JDK's
 * {@code HttpClient} times a request only until the headers arrive, and a registry that then stops sending would
 * block its reader forever. When a read waits too long, a watchdog thread interrupts the reader and closes the
 * body (dropping the connection); the read then throws {@link Stalled}, with the reader's interrupt status
 * cleared, and so does every later read.
 */
final class StallTimeoutInputStream extends FilterInputStream {

    private static final ScheduledThreadPoolExecutor WATCHDOG = watchdog();
    private static final int IDLE = 0;
    private static final int READING = 1;
    private static final int FIRED = 2;

    private final Duration timeout;
    private final AtomicInteger state = new AtomicInteger(IDLE);

    /** A read that waited {@code timeout} for a byte. */
    static final class Stalled extends IOException {
        Stalled(Duration timeout, Throwable cause) {
            super("no byte arrived for " + describe(timeout), cause);
        }
    }

    StallTimeoutInputStream(InputStream in, Duration timeout) {
        super(in);
        this.timeout = timeout;
    }

    /** {@code 60 s}, or {@code 500 ms} when not whole seconds. */
    static String describe(Duration timeout) {
        return timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + " s" : timeout.toMillis() + " ms";
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n;
        while ((n = read(one, 0, 1)) == 0) {
            // a read of one byte returns it or -1
        }
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        if (!state.compareAndSet(IDLE, READING)) {
            throw new Stalled(timeout, null);
        }
        Thread reader = Thread.currentThread();
        ScheduledFuture<?> alarm = WATCHDOG.schedule(
                () -> {
                    boolean fired;
                    synchronized (state) { // the reader clears this interrupt, so it must not come after
                        fired = state.compareAndSet(READING, FIRED);
                        if (fired) {
                            reader.interrupt();
                        }
                    }
                    if (fired) {
                        try {
                            in.close();
                        } catch (IOException | RuntimeException e) {
                            // the reader is interrupted anyway
                        }
                    }
                },
                timeout.toNanos(),
                TimeUnit.NANOSECONDS);
        int n;
        IOException failure = null;
        try {
            n = in.read(buffer, offset, length);
        } catch (IOException e) {
            failure = e;
            n = -1;
        } finally {
            alarm.cancel(false);
        }
        synchronized (state) {
            if (!state.compareAndSet(READING, IDLE)) {
                Thread.interrupted(); // the watchdog's interrupt, not the caller's
                throw new Stalled(timeout, failure);
            }
        }
        if (failure != null) {
            throw failure;
        }
        return n;
    }

    @Override
    public long skip(long count) throws IOException {
        byte[] buffer = new byte[(int) Math.min(8192, Math.max(count, 1))];
        long skipped = 0;
        int n;
        while (skipped < count && (n = read(buffer, 0, (int) Math.min(buffer.length, count - skipped))) > 0) {
            skipped += n;
        }
        return skipped;
    }

    private static ScheduledThreadPoolExecutor watchdog() {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "isolated-pull-watchdog");
            thread.setDaemon(true);
            return thread;
        });
        executor.setRemoveOnCancelPolicy(true);
        return executor;
    }
}
