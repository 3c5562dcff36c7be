package dev.isolated.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;

/** Times every test (not container) the Launcher runs, and collects failures. */
final class TestTimer implements TestExecutionListener {
    private final Map<String, Long> started = new ConcurrentHashMap<>();
    private final List<Double> millis = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();

    @Override
    public void executionStarted(TestIdentifier test) {
        if (test.isTest()) {
            started.put(test.getUniqueId(), System.nanoTime());
        }
    }

    @Override
    public synchronized void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
            failures.add(test.getDisplayName() + ": " + result);
        }
        Long start = started.remove(test.getUniqueId());
        if (test.isTest() && start != null) {
            millis.add((System.nanoTime() - start) / 1e6);
        }
    }

    /** @return each finished test's time in ms */
    synchronized List<Double> millis() {
        return List.copyOf(millis);
    }

    /** @return failed or aborted tests and containers */
    synchronized List<String> failures() {
        return List.copyOf(failures);
    }
}
