package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apiguardian.api.API;

/**
 * Environments started before a test asks for one: the pool keeps {@code ready} environments started (each by
 * {@code start}, typically from a {@link FrozenState} with its service started and ready), and {@link #take()}
 * hands one out in about the time of a queue's poll. Each taken environment is the caller's alone: the pool never
 * hands it out again and forgets it, the caller closes it, and no test has used it before: only the pool's
 * starting thread has touched it, to start it and wait for its service. Every take starts a replacement on the
 * pool's own threads, off the test's path.
 *
 * <pre>{@code
 * static final FrozenState DB = FrozenState.cached("migrated-db", hashOf(migrations), () -> ...);
 * static final EnvironmentPool DATABASES = DB.pool(2, db -> db.startImageCommand(Wait.forLogLine(READY)));
 *
 * @Test
 * void findsOrders() throws SQLException {
 *     try (IsolatedEnvironment db = DATABASES.take();   // PostgreSQL already accepting connections
 *          Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + db.mappedPort(5432) + "/app")) {
 *         ...
 *     }
 * }
 * }</pre>
 *
 * <p>Nothing leaks: {@link #close()} closes the environments waiting in the pool (and those still starting, once
 * started) and returns when all are closed; an unclosed pool's environments are killed when the JVM exits, as
 * every environment is (the helper kills its environments when the JVM's end closes its stdin). A taken
 * environment is not the pool's any more: the caller closes it, and closing the pool does not.
 *
 * <p>A start that fails (say the service is not ready in time) is not retried: the next {@link #take()} throws
 * its exception, so the test fails with the service's own message, and a replacement is started.
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class EnvironmentPool implements AutoCloseable {
    private static final AtomicInteger POOLS = new AtomicInteger();

    private final int ready;
    private final Supplier<? extends IsolatedEnvironment> start;
    private final String name;
    private final ThreadPoolExecutor starter;
    private final LinkedBlockingQueue<Started> waiting = new LinkedBlockingQueue<>();
    private final Object lock = new Object();
    private boolean closed; // guarded by lock

    private EnvironmentPool(int ready, Supplier<? extends IsolatedEnvironment> start) {
        this.ready = ready;
        this.start = start;
        this.name = "isolated-pool-" + POOLS.incrementAndGet();
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        AtomicInteger threads = new AtomicInteger();
        this.starter =
                new ThreadPoolExecutor(ready, ready, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, name + "-starter-" + threads.incrementAndGet());
                    t.setDaemon(true);
                    t.setContextClassLoader(loader); // builders find class path images as on the creating thread
                    return t;
                });
        for (int i = 0; i < ready; i++) {
            refill();
        }
    }

    /**
     * A pool that keeps {@code ready} environments started by {@code start}, which runs on the pool's threads
     * ({@code ready} of them, so up to {@code ready} environments start at once), with the creating thread's
     * context class loader. Starting begins at once.
     *
     * @param ready how many started environments to keep waiting, at least 1
     * @param start starts one environment, e.g. {@code () -> IsolatedEnvironment.builder().from(state)
     *     .startImageCommand(wait).start()}; each call must return a new environment
     * @return the pool; close it (or let the JVM's exit close its environments)
     * @throws IllegalArgumentException when {@code ready} is below 1
     */
    public static EnvironmentPool of(int ready, Supplier<? extends IsolatedEnvironment> start) {
        Objects.requireNonNull(start, "start");
        if (ready < 1) {
            throw new IllegalArgumentException("EnvironmentPool.of(" + ready + ", ...): ready must be at least 1");
        }
        return new EnvironmentPool(ready, start);
    }

    /**
     * Takes a started environment, waiting for one when none is ready yet, and starts its replacement in the
     * background. The environment is the caller's: close it.
     *
     * @return an environment no one else has used or will be given
     * @throws IllegalStateException when the pool is closed
     * @throws IsolatedException when the thread is interrupted while it waits ({@code Interrupted while waiting for
     *     an environment of EnvironmentPool[...]}), its interrupt status kept
     * @throws RuntimeException what {@code start} threw for this environment (e.g. a
     *     {@link ServiceNotReadyException}), with a suppressed exception marking where it was taken
     */
    public IsolatedEnvironment take() {
        Started next;
        try {
            next = waiting.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IsolatedException("Interrupted while waiting for an environment of " + this, e);
        }
        if (next == CLOSED) {
            waiting.add(CLOSED); // for the other threads waiting
            throw new IllegalStateException("The environment pool " + name + " is closed");
        }
        refill();
        if (next.failure != null) {
            next.failure.addSuppressed(new IsolatedException("The start above was taken from " + this + " here"));
            throw next.failure;
        }
        return next.env;
    }

    /** {@return how many started environments the pool keeps waiting} */
    public int ready() {
        return ready;
    }

    /**
     * Closes the environments waiting in the pool and, once started, those still starting; returns when they are
     * all closed. Environments taken before stay open. {@link #take()} then throws; closing again does nothing.
     */
    @Override
    public void close() {
        List<Started> left = new ArrayList<>();
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            waiting.drainTo(left);
            waiting.add(CLOSED);
            starter.shutdown();
        }
        RuntimeException failure = null;
        for (Started s : left) {
            failure = closeQuietly(s.env, failure);
        }
        boolean interrupted = false;
        while (true) {
            try {
                if (starter.awaitTermination(1, TimeUnit.MINUTES)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true; // the starts still running close what they start: wait for them
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure != null) {
            throw failure;
        }
    }

    private void refill() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            CompletableFuture.runAsync(this::startOne, starter);
        }
    }

    private void startOne() {
        if (isClosed()) {
            return; // queued before the pool closed: start nothing
        }
        Started made;
        try {
            made = new Started(Objects.requireNonNull(start.get(), "the start of " + name + " returned null"), null);
        } catch (RuntimeException e) {
            made = new Started(null, e);
        } catch (Error e) {
            made = new Started(null, new IsolatedException("Starting an environment of " + name + " failed: " + e, e));
        }
        synchronized (lock) {
            if (!closed) {
                waiting.add(made);
                return;
            }
        }
        closeQuietly(made.env, null); // the pool closed while it started
    }

    private static RuntimeException closeQuietly(IsolatedEnvironment env, RuntimeException failure) {
        if (env == null) {
            return failure;
        }
        try {
            env.close();
            return failure;
        } catch (RuntimeException e) {
            if (failure == null) {
                return e;
            }
            failure.addSuppressed(e);
            return failure;
        }
    }

    @Override
    public String toString() {
        return "EnvironmentPool[" + name + ", ready " + ready + ", waiting "
                + waiting.stream().filter(s -> s != CLOSED).count() + (isClosed() ? ", closed" : "") + "]";
    }

    private boolean isClosed() {
        synchronized (lock) {
            return closed;
        }
    }

    /** A started environment or why it did not start. */
    private record Started(IsolatedEnvironment env, RuntimeException failure) {}

    private static final Started CLOSED = new Started(null, null);
}
