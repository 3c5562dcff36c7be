package dev.isolated.internal.shard;

import static dev.isolated.IsolatedConfiguration.SHARD_TIMINGS;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** The shard this run keeps and how classes are assigned to shards. */
final class ShardPlan {
    /** Timings by absolute path: read once per JVM (Surefire may discover once per class). */
    private static final Map<Path, Map<String, Double>> TIMINGS = new ConcurrentHashMap<>();

    private final Shard shard;
    private final Optional<String> timings;
    private final ShardAssignment assignment;

    private ShardPlan(Shard shard, Optional<String> timings, Map<String, Double> secondsByClass) {
        this.shard = shard;
        this.timings = timings;
        this.assignment = new ShardAssignment(shard.total(), secondsByClass);
    }

    /**
     * The plan that {@code configuration} and {@code environment} ask for, empty when they configure no sharding.
     *
     * @throws InvalidShardException naming the key or variable and the fix
     */
    static Optional<ShardPlan> of(
            Function<String, Optional<String>> configuration, Function<String, String> environment) {
        Optional<Shard> shard = ShardResolver.resolve(configuration, environment);
        if (shard.isEmpty()) {
            return Optional.empty();
        }
        Optional<String> timings =
                configuration.apply(SHARD_TIMINGS).filter(t -> !t.isBlank()).map(String::strip);
        Map<String, Double> seconds = timings.map(t -> TIMINGS.computeIfAbsent(
                        ClassTimings.path(t).toAbsolutePath().normalize(), p -> ClassTimings.read(t)))
                .orElse(Map.of());
        return Optional.of(new ShardPlan(shard.get(), timings, seconds));
    }

    /** The shard (from 1) of a top-level class. */
    int shardOf(String topLevelClass) {
        return assignment.shardOf(topLevelClass);
    }

    Shard shard() {
        return shard;
    }

    @Override
    public String toString() {
        return "shard " + shard
                + timings.map(t -> ", balanced by the timings in " + t).orElse(", by class name hash");
    }
}
