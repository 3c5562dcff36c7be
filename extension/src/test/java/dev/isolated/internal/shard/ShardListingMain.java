package dev.isolated.internal.shard;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import org.junit.platform.engine.TestDescriptor;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.testkit.engine.EngineTestKit;

/**
 * A child JVM for {@link ShardFilterTests}: discovers the fixture suite with the {@code key=value} arguments as
 * configuration parameters (and this JVM's system properties and environment, as a build tool's launcher does)
 * and prints one kept test per line, or {@code ERROR <message>}. With {@code --engine-test-kit} first, it
 * discovers without a launcher, through {@link EngineTestKit} given a {@link ShardFilter} (no discovery listener:
 * the filter reads system properties).
 */
public final class ShardListingMain {
    private ShardListingMain() {}

    public static void main(String[] args) {
        List<String> arguments = new ArrayList<>(List.of(args));
        boolean engineTestKit = !arguments.isEmpty() && arguments.get(0).equals("--engine-test-kit");
        Map<String, String> configuration = new HashMap<>();
        for (String kv : arguments.subList(engineTestKit ? 1 : 0, arguments.size())) {
            configuration.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        try {
            (engineTestKit ? withoutLauncher() : ShardDiscovery.tests(configuration, true))
                    .forEach(System.out::println);
        } catch (RuntimeException e) {
            System.out.println("ERROR " + e.getMessage());
        }
    }

    private static SortedSet<String> withoutLauncher() {
        TestDescriptor engine = EngineTestKit.engine("junit-jupiter")
                .selectors(selectPackage(ShardDiscovery.FIXTURES))
                .filters(new ShardFilter())
                .discover()
                .getEngineDescriptor();
        SortedSet<String> tests = new TreeSet<>();
        for (TestDescriptor d : engine.getDescendants()) {
            if (d.isTest()) {
                MethodSource method = (MethodSource) d.getSource().orElseThrow();
                tests.add(method.getClassName().substring(ShardDiscovery.FIXTURES.length() + 1) + "#"
                        + method.getMethodName());
            }
        }
        return tests;
    }
}
