package dev.isolated;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.platform.testkit.engine.EngineTestKit;

/**
 * A child JVM for {@link HostCannotTests} and {@link RootlessTests}: runs a fixture class through the engine and prints one line per
 * finished test: {@code <status>\t<message of its throwable>}. Like a build tool's launcher, it reads configuration
 * parameters from its arguments ({@code key=value}), system properties and {@code junit-platform.properties}.
 */
public final class FixtureRunner {
    private FixtureRunner() {}

    public static void main(String[] args) throws ClassNotFoundException {
        Class<?> fixture = Class.forName(args[0]);
        Map<String, String> configuration = configuration(args);
        EngineTestKit.engine("junit-jupiter")
                .selectors(selectClass(fixture))
                .configurationParameters(configuration)
                .enableImplicitConfigurationParameters(true)
                .execute()
                .testEvents()
                .finished()
                .stream()
                .forEach(e -> {
                    var result = e.getPayload(org.junit.platform.engine.TestExecutionResult.class)
                            .orElseThrow();
                    String message = result.getThrowable()
                            .map(t -> t.getClass().getSimpleName() + ": " + t.getMessage())
                            .orElse("")
                            .replace('\n', ' ');
                    System.out.println(result.getStatus() + "\t" + message);
                });
    }

    /** @return the configuration parameters of {@code args} after the first ({@code key=value} each) */
    static Map<String, String> configuration(String[] args) {
        Map<String, String> configuration = new HashMap<>();
        for (String kv : Arrays.asList(args).subList(1, args.length)) {
            configuration.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        return configuration;
    }
}
