package dev.isolated;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.Arrays;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineTestKit;

/**
 * A child JVM for {@link KeepOnFailureTests}: runs a fixture class through the engine with the configuration
 * parameters of its arguments ({@code key=value}) and prints the message of every report attached to a failed
 * test ({@link EnvironmentReport}, where {@code isolated.keepOnFailure} says where the layer was kept), each
 * followed by a line {@code END}.
 */
public final class KeptLayerReports {
    private KeptLayerReports() {}

    public static void main(String[] args) throws ClassNotFoundException {
        Class<?> fixture = Class.forName(args[0]);
        EngineTestKit.engine("junit-jupiter")
                .selectors(selectClass(fixture))
                .configurationParameters(FixtureRunner.configuration(args))
                .execute()
                .testEvents()
                .failed()
                .stream()
                .map(e -> e.getPayload(TestExecutionResult.class).orElseThrow())
                .flatMap(r -> r.getThrowable().stream())
                .flatMap(t -> Arrays.stream(t.getSuppressed()))
                .filter(s -> s instanceof EnvironmentReport)
                .forEach(s -> System.out.println(s.getMessage() + "\nEND"));
    }
}
