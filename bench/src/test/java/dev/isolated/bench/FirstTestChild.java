package dev.isolated.bench;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * The child JVM of {@link FirstTestBench}: runs the one test class named by its argument through the Launcher
 * and exits 0 when its one test passed (1 otherwise, with the failures on stdout).
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
        if (summary.getSummary().getTestsSucceededCount() != 1) {
            summary.getSummary().printFailuresTo(new java.io.PrintWriter(System.out, true), 20);
            System.exit(1);
        }
        System.exit(0);
    }
}
