package dev.isolated;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.Map;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

/** Runs fixture test classes through the Jupiter engine, as JUnit's own extension tests do. */
final class EngineRunner {
    private EngineRunner() {
    }

    static EngineExecutionResults run(Class<?> testClass) {
        return run(testClass, Map.of());
    }

    static EngineExecutionResults run(Class<?> testClass, Map<String, String> configuration) {
        return EngineTestKit.engine("junit-jupiter").selectors(selectClass(testClass))
                .configurationParameters(configuration).execute();
    }
}
