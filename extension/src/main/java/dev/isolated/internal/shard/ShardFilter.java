package dev.isolated.internal.shard;

import java.util.Optional;
import org.junit.platform.engine.FilterResult;
import org.junit.platform.engine.TestDescriptor;
import org.junit.platform.engine.TestSource;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.PostDiscoveryFilter;

/**
 * Keeps the tests of this run's shard's top-level classes when sharding is configured ({@code isolated.shard},
 * {@code isolated.shard.total} with {@code JOB_COMPLETION_INDEX}, or GitLab's {@code CI_NODE_INDEX} and
 * {@code CI_NODE_TOTAL}); keeps everything otherwise. A launcher service ({@code META-INF/services}), registered
 * with {@link ShardDiscoveryListener}, through which it reads the discovery's configuration parameters; a launcher
 * that does not load the listener leaves it system properties. Tests of nested classes go with their top-level
 * class; a test with no class in its source or its parents' is kept.
 */
public final class ShardFilter implements PostDiscoveryFilter {
    private static final FilterResult NO_SHARDING = FilterResult.included("no sharding configured");

    private ShardDiscoveryListener.Discovery withoutListener;

    /** Public for {@link java.util.ServiceLoader}. */
    public ShardFilter() {}

    @Override
    public FilterResult apply(TestDescriptor descriptor) {
        Optional<ShardPlan> plan = ShardDiscoveryListener.current()
                .orElseGet(this::fromSystemProperties)
                .plan();
        if (plan.isEmpty()) {
            return NO_SHARDING;
        }
        Optional<String> testClass = topLevelClass(descriptor);
        if (testClass.isEmpty()) {
            return FilterResult.included("not in a class");
        }
        int shard = plan.get().shardOf(testClass.get());
        return FilterResult.includedIf(
                shard == plan.get().shard().index(),
                () -> testClass.get() + " is in " + plan.get(),
                () -> testClass.get() + " is in shard " + shard + "/"
                        + plan.get().shard().total() + ", not in " + plan.get());
    }

    private synchronized ShardDiscoveryListener.Discovery fromSystemProperties() {
        if (withoutListener == null) {
            withoutListener = new ShardDiscoveryListener.Discovery(key -> Optional.ofNullable(System.getProperty(key)));
        }
        return withoutListener;
    }

    private static Optional<String> topLevelClass(TestDescriptor descriptor) {
        for (TestDescriptor d = descriptor; d != null; d = d.getParent().orElse(null)) {
            Optional<TestSource> source = d.getSource();
            if (source.isPresent() && source.get() instanceof ClassSource c) {
                return Optional.of(TopLevelClass.of(c.getClassName()));
            }
            if (source.isPresent() && source.get() instanceof MethodSource m) {
                return Optional.of(TopLevelClass.of(m.getClassName()));
            }
        }
        return Optional.empty();
    }
}
