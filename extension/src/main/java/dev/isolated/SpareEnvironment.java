package dev.isolated;

import dev.isolated.internal.env.Environment;
import dev.isolated.internal.env.EnvironmentSpec;
import dev.isolated.internal.env.LayerSpec;
import dev.isolated.internal.helper.HelperConnection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The spare environment of one test class: once two tests in a row of the class asked for environments of the same
 * settings (their hostnames aside), the extension has the next one made on a background thread while the test
 * runs, and the next test with those settings takes it instead of waiting for a CREATE, renamed to its own hostname.
 * The spare's CREATE is sent as soon as the test has its own environment, before the test's first command: the
 * spare then has the whole test to get ready (measured against sending it after the test's first command, which
 * left the next test waiting for its spare). A spare is never used twice; one of other settings is closed when a
 * test asks for different ones, and the last one when the class ends (the extension's {@code afterAll}, and JUnit
 * closing the class's store). Not API.
 */
final class SpareEnvironment implements AutoCloseable {
    /** The threads spares are made and closed on; loaded (and started) only once a class asks for a spare. */
    private static final class Threads {
        static final ExecutorService CREATOR = daemon("isolated-spare-environment");
        static final ExecutorService CLOSER = daemon("isolated-environment-closer");

        private static ExecutorService daemon(String name) {
            return Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
        }
    }

    /** Makes a class's spares (a class, not a lambda: it is on the first test's path). */
    static final class Maker implements java.util.function.Function<String, SpareEnvironment> {
        @Override
        public SpareEnvironment apply(String key) {
            return new SpareEnvironment();
        }
    }

    /** Makes a spare of a test's settings (a class, not a lambda: it is on the first test's path). */
    static final class Creation implements Supplier<Environment> {
        private final HelperConnection helper;
        private final EnvironmentSpec spec;
        private final LayerSpec layers;

        Creation(HelperConnection helper, EnvironmentSpec spec, LayerSpec layers) {
            this.helper = helper;
            this.spec = spec;
            this.layers = layers;
        }

        @Override
        public Environment get() {
            return Environment.create(helper, spec, List.of(), layers);
        }
    }

    /**
     * What a spare must match: everything its CREATE was made of but its hostname (set when it is taken: whether it
     * has one must match), and the helper that holds it.
     */
    record Key(HelperConnection helper, EnvironmentSpec unnamed, boolean named, LayerSpec layers) {
        static Key of(HelperConnection helper, EnvironmentSpec spec, LayerSpec layers) {
            return new Key(helper, spec.withHostname(""), !spec.hostname().isEmpty(), layers);
        }
    }

    private Key lastAsked;
    private Key spareKey;
    private CompletableFuture<Environment> spare; // being made on the creator thread, or made
    private boolean closed;
    private final Set<Environment> served = ConcurrentHashMap.newKeySet();
    private final List<CompletableFuture<Void>> closing = new CopyOnWriteArrayList<>();
    private final List<RuntimeException> failures = new CopyOnWriteArrayList<>();

    /**
     * @param key the settings of the environment a test asks for
     * @return a spare made with exactly these settings, ready; {@code null} when there is none (or it failed: the
     *     caller then creates one itself, and reports that failure as usual)
     */
    Environment take(Key key) {
        CompletableFuture<Environment> taken;
        synchronized (this) {
            if (spare == null || !spareKey.equals(key)) {
                discardSpare();
                return null;
            }
            taken = spare;
            spare = null;
            spareKey = null;
        }
        try {
            return taken.get();
        } catch (ExecutionException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeWhenMade(taken);
            return null;
        }
    }

    /**
     * Notes an environment a test got through this class's spares (taken, or made when there was none) once a spare
     * was asked for, from the second test in a row of the same settings on: {@link #closeInBackground} closes it.
     */
    void served(Environment env) {
        served.add(env);
    }

    /**
     * Closes an environment {@link #served(Environment) served} to a test without waiting: its CLOSE is sent (the
     * helper kills everything in it before it handles any other request), the class's next test waits for it
     * ({@link #awaitBackgroundCloses()}), and what the close left behind is thrown by {@link #close()}, naming the
     * test.
     *
     * @param test the test's display name
     * @return whether it was one of ours (else it was not touched)
     */
    boolean closeInBackground(Environment env, String test) {
        if (!served.remove(env)) {
            return false;
        }
        closing.add(env.closeInBackground(Threads.CLOSER).exceptionally(e -> {
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            RuntimeException failure = new EnvironmentCleanupException(
                    "The environment of test " + test + ", closed after it: " + cause.getMessage());
            failure.addSuppressed(cause);
            failures.add(failure);
            return null;
        }));
        return true;
    }

    /**
     * Waits until every environment {@link #closeInBackground closed in the background}, and every spare discarded, so
     * far is closed: a test of the class calls it before it starts, so no process of an earlier test is left when it
     * does (what those closes left behind is thrown by {@link #close()}).
     */
    void awaitBackgroundCloses() {
        for (CompletableFuture<Void> close : closing) {
            close.join(); // failures were collected
            closing.remove(close);
        }
    }

    /**
     * Has the next spare made, on the creator thread, when the test before asked for the same settings too.
     *
     * @param key the settings the test asked for
     * @param create makes an environment of these settings
     * @return whether a spare was asked for (the test's environment is then {@link #served} to it)
     */
    synchronized boolean prepareNext(Key key, Supplier<Environment> create) {
        boolean repeated = lastAsked != null && key.equals(lastAsked); // no record equals on a class's first test
        lastAsked = key;
        if (closed || !repeated || spare != null) {
            return false;
        }
        spareKey = key;
        spare = CompletableFuture.supplyAsync(create, Threads.CREATOR);
        return true;
    }

    private void discardSpare() {
        if (spare != null) {
            closeWhenMade(spare);
        }
        spare = null;
        spareKey = null;
    }

    /**
     * Closes a spare no test will use once it is made, as a background close: the class's next test and its end wait
     * for it ({@link #awaitBackgroundCloses()}), and what its close leaves behind is thrown by {@link #close()}.
     */
    private void closeWhenMade(CompletableFuture<Environment> pending) {
        closing.add(pending.handle((env, failedToStart) -> {
            if (env != null) { // one that failed to start left nothing to close
                try {
                    env.close();
                } catch (RuntimeException e) {
                    failures.add(e);
                }
            }
            return null;
        }));
    }

    /**
     * Waits for the environments closed in the background, and closes the spare (waiting for it when it is still
     * being made); no spare is made afterwards.
     *
     * @throws EnvironmentCleanupException when closing this spare, one discarded before, or an environment closed in
     *     the background left something behind
     */
    @Override
    public void close() {
        CompletableFuture<Environment> left;
        synchronized (this) {
            closed = true;
            left = spare;
            spare = null;
            spareKey = null;
        }
        awaitBackgroundCloses();
        if (left != null) {
            try {
                left.get().close();
            } catch (ExecutionException e) {
                // it failed to start: nothing of it is left to close
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closeWhenMade(left);
            } catch (RuntimeException e) {
                failures.add(e);
            }
        }
        if (!failures.isEmpty()) {
            RuntimeException first = failures.get(0);
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            failures.clear();
            throw first;
        }
    }
}
