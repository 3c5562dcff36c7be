package dev.isolated.bench;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * The child JVM of {@link FirstTestBench}: runs the one test class named by its first argument through the
 * Launcher and exits 0 when its one test passed (1 otherwise, with the failures on stdout). With a second argument
 * {@code --await-prune} it first waits (up to 5 minutes) until its automatic cache prune, if it started one, has
 * ended, as a JVM that runs a suite lets it: the warm-up round's, so that the counted rounds find the cache as a
 * suite leaves it.
 */
final class FirstTestChild {
    private FirstTestChild() {}

    public static void main(String[] args) throws ClassNotFoundException {
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        LauncherFactory.create()
                .execute(
                        LauncherDiscoveryRequestBuilder.request()
                                .selectors(selectClass(Class.forName(args[0])))
                                .build(),
                        summary);
        if (args.length > 1 && args[1].equals("--await-prune")) {
            awaitPrune();
        }
        if (summary.getSummary().getTestsSucceededCount() != 1) {
            summary.getSummary().printFailuresTo(new java.io.PrintWriter(System.out, true), 20);
            System.exit(1);
        }
        System.exit(0);
    }

    private static void awaitPrune() {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(5);
        while (Thread.getAllStackTraces().keySet().stream()
                .anyMatch(thread -> thread.getName().equals("isolated-cache-prune"))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("The automatic cache prune did not end within 5 minutes");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while waiting for the automatic cache prune", e);
            }
        }
    }
}
