package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

/** Runs fixture test classes through the Jupiter engine, as JUnit's own extension tests do. */
final class EngineRunner {
    private EngineRunner() {}

    static EngineExecutionResults run(Class<?> testClass) {
        return run(testClass, Map.of());
    }

    static EngineExecutionResults run(Class<?> testClass, Map<String, String> configuration) {
        return EngineTestKit.engine("junit-jupiter")
                .selectors(selectClass(testClass))
                .configurationParameters(configuration)
                .execute();
    }

    /** Asserts that {@code count} tests ran and all succeeded, showing every failure's stack trace otherwise. */
    static void assertAllSucceeded(EngineExecutionResults results, int count) {
        String failures = results.allEvents().finished().stream()
                .map(e -> e.getPayload(TestExecutionResult.class).orElseThrow())
                .filter(r -> r.getStatus() != TestExecutionResult.Status.SUCCESSFUL)
                .map(r -> r.getStatus() + ": "
                        + r.getThrowable().map(EngineRunner::stackTrace).orElse(""))
                .collect(Collectors.joining("\n"));
        assertThat(failures).as("failures of the fixture's tests").isEmpty();
        results.testEvents().assertStatistics(s -> s.started(count).succeeded(count));
    }

    private static String stackTrace(Throwable t) {
        StringWriter out = new StringWriter();
        t.printStackTrace(new PrintWriter(out));
        return out.toString();
    }
}
