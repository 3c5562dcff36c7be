package dev.isolated;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import org.junit.platform.testkit.engine.EngineTestKit;

/**
 * A child JVM for {@link HostCannotTests} and {@link RootlessTests}: runs a fixture class through the engine and prints one line per
 * finished test: {@code <status>\t<message of its throwable>}.
 */
public final class FixtureRunner {
    private FixtureRunner() {
    }

    public static void main(String[] args) throws ClassNotFoundException {
        Class<?> fixture = Class.forName(args[0]);
        EngineTestKit.engine("junit-jupiter").selectors(selectClass(fixture)).execute().testEvents().finished()
                .stream().forEach(e -> {
                    var result = e.getPayload(org.junit.platform.engine.TestExecutionResult.class).orElseThrow();
                    String message = result.getThrowable().map(Throwable::getMessage).orElse("")
                            .replace('\n', ' ');
                    System.out.println(result.getStatus() + "\t" + message);
                });
    }
}
