package dev.isolated.internal.shard;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;
import static org.junit.platform.launcher.EngineFilter.includeEngines;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * Discovers (or runs) the fixture suite ({@code dev.isolated.internal.shard.fixtures}) through the JUnit Platform
 * launcher, as Surefire and Gradle do: the launcher loads {@link ShardFilter} from {@code META-INF/services}.
 */
final class ShardDiscovery {
    static final String FIXTURES = "dev.isolated.internal.shard.fixtures";

    private ShardDiscovery() {}

    /** The tests kept with these configuration parameters (no implicit ones), as {@code Class#method} lines. */
    static SortedSet<String> tests(Map<String, String> configuration) {
        return tests(configuration, false);
    }

    static SortedSet<String> tests(Map<String, String> configuration, boolean implicitConfiguration) {
        TestPlan plan = LauncherFactory.create().discover(request(configuration, implicitConfiguration));
        SortedSet<String> tests = new TreeSet<>();
        List<TestIdentifier> pending = new ArrayList<>(plan.getRoots());
        while (!pending.isEmpty()) {
            TestIdentifier id = pending.remove(pending.size() - 1);
            pending.addAll(plan.getChildren(id));
            if (id.isTest()) {
                MethodSource method = (MethodSource) id.getSource().orElseThrow();
                tests.add(method.getClassName().substring(FIXTURES.length() + 1) + "#" + method.getMethodName());
            }
        }
        return tests;
    }

    /** Runs the tests kept with these configuration parameters; @return how many ran and succeeded */
    static long run(Map<String, String> configuration) {
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        LauncherFactory.create().execute(request(configuration, false), summary);
        if (summary.getSummary().getTotalFailureCount() > 0) {
            throw new AssertionError("fixture failures: " + summary.getSummary().getFailures());
        }
        return summary.getSummary().getTestsSucceededCount();
    }

    /** The top-level class of a {@code Class#method} line: {@code Outer$Inner#inside} is {@code Outer}'s. */
    static String topLevel(String test) {
        return TopLevelClass.of(test.substring(0, test.indexOf('#')));
    }

    private static LauncherDiscoveryRequest request(Map<String, String> configuration, boolean implicitConfiguration) {
        return LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage(FIXTURES))
                .filters(includeEngines("junit-jupiter"))
                .configurationParameters(configuration)
                .enableImplicitConfigurationParameters(implicitConfiguration)
                .build();
    }
}
