package dev.isolated.internal.shard;

import static dev.isolated.IsolatedConfiguration.SHARD;
import static dev.isolated.IsolatedConfiguration.SHARD_TOTAL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Which shard the configuration and the CI variables pick (the filter's end-to-end tests: ShardFilterTests). */
@DisplayName("the shard a CI job's configuration and variables pick")
class ShardResolverTests {

    @Test
    @DisplayName("nothing set: no sharding")
    void nothing() {
        assertThat(resolve(Map.of(), Map.of())).isEmpty();
        assertThat(resolve(Map.of(SHARD, " "), Map.of()))
                .as("a blank key is unset")
                .isEmpty();
    }

    @Test
    @DisplayName("isolated.shard=I/N is shard I (from 1) of N, and wins over CI variables")
    void explicit() {
        assertThat(resolve(Map.of(SHARD, "2/8"), Map.of())).contains(new Shard(2, 8));
        assertThat(resolve(Map.of(SHARD, "1/1"), gitlab("2", "3", "test 2/3"))).contains(new Shard(1, 1));
        assertThat(resolve(Map.of(SHARD, "1/1"), Map.of("JOB_COMPLETION_INDEX", "2")))
                .contains(new Shard(1, 1));
        assertThat(resolve(Map.of(SHARD, "3/4", SHARD_TOTAL, "4"), Map.of())).contains(new Shard(3, 4));
        assertThatThrownBy(() -> resolve(Map.of(SHARD, "3/4", SHARD_TOTAL, "8"), Map.of()))
                .isInstanceOf(InvalidShardException.class)
                .hasMessage("isolated.shard '3/4' and isolated.shard.total '8' disagree: set only isolated.shard");
    }

    @Test
    @DisplayName("GitLab: CI_NODE_INDEX (from 1) of CI_NODE_TOTAL in a parallel: N job (or with no CI_JOB_NAME)")
    void gitlabParallel() {
        assertThat(resolve(Map.of(), gitlab("3", "4", "rspec 3/4"))).contains(new Shard(3, 4));
        assertThat(resolve(Map.of(), gitlab("1", "2", null))).contains(new Shard(1, 2));
    }

    @Test
    @DisplayName("GitLab: a parallel: matrix: job, which gets the same variables, is not sharded")
    void gitlabMatrix() {
        assertThat(resolve(Map.of(), gitlab("2", "3", "test: [21]"))).isEmpty();
        assertThat(resolve(Map.of(), gitlab("2", "3", "test: [21, 2/3]"))).isEmpty();
    }

    @Test
    @DisplayName("GitLab: only one of the two variables: not sharded")
    void gitlabHalf() {
        assertThat(resolve(Map.of(), Map.of("CI_NODE_TOTAL", "1"))).isEmpty();
    }

    @Test
    @DisplayName("GitLab: variables that name no shard fail with a message naming them and the override")
    void gitlabInvalid() {
        assertThatThrownBy(() -> resolve(Map.of(), gitlab("0", "3", null)))
                .isInstanceOf(InvalidShardException.class)
                .hasMessage(
                        "CI_NODE_INDEX '0' and CI_NODE_TOTAL '3' are not a shard: expected 1 <= CI_NODE_INDEX <="
                                + " CI_NODE_TOTAL (GitLab's parallel: sets them); set isolated.shard=INDEX/TOTAL to override them");
    }

    @Test
    @DisplayName("Kubernetes: JOB_COMPLETION_INDEX (from 0) with isolated.shard.total; the index alone shards nothing")
    void kubernetes() {
        assertThat(resolve(Map.of(SHARD_TOTAL, "8"), Map.of("JOB_COMPLETION_INDEX", "0")))
                .contains(new Shard(1, 8));
        assertThat(resolve(Map.of(SHARD_TOTAL, "8"), Map.of("JOB_COMPLETION_INDEX", "7")))
                .contains(new Shard(8, 8));
        assertThat(resolve(Map.of(), Map.of("JOB_COMPLETION_INDEX", "7"))).isEmpty();
        assertThat(resolve(
                        Map.of(SHARD_TOTAL, "2"),
                        Map.of("JOB_COMPLETION_INDEX", "1", "CI_NODE_INDEX", "1", "CI_NODE_TOTAL", "3")))
                .as("isolated.shard.total before GitLab's")
                .contains(new Shard(2, 2));
    }

    @Test
    @DisplayName("Kubernetes: an index out of range, a bad total, or a total without an index fail naming the fix")
    void kubernetesInvalid() {
        assertThatThrownBy(() -> resolve(Map.of(SHARD_TOTAL, "8"), Map.of("JOB_COMPLETION_INDEX", "8")))
                .isInstanceOf(InvalidShardException.class)
                .hasMessage(
                        "JOB_COMPLETION_INDEX '8' is not a shard of isolated.shard.total '8': expected 0 <="
                                + " JOB_COMPLETION_INDEX < 8 (it counts from 0; isolated.shard.total must be the Job's completions)");
        assertThatThrownBy(() -> resolve(Map.of(SHARD_TOTAL, "0"), Map.of("JOB_COMPLETION_INDEX", "0")))
                .hasMessage("isolated.shard.total '0' is not valid: expected a whole number of shards, 1 or more (the"
                        + " indexed Job's completions), e.g. -Disolated.shard.total=8");
        assertThatThrownBy(() -> resolve(Map.of(SHARD_TOTAL, "8"), Map.of()))
                .hasMessage(
                        "isolated.shard.total '8' is set but JOB_COMPLETION_INDEX is not: isolated.shard.total is for"
                                + " the pods of Kubernetes indexed Jobs (completionMode: Indexed); elsewhere set"
                                + " isolated.shard=INDEX/TOTAL");
    }

    private static Map<String, String> gitlab(String index, String total, String jobName) {
        return jobName == null
                ? Map.of("CI_NODE_INDEX", index, "CI_NODE_TOTAL", total)
                : Map.of("CI_NODE_INDEX", index, "CI_NODE_TOTAL", total, "CI_JOB_NAME", jobName);
    }

    private static Optional<Shard> resolve(Map<String, String> configuration, Map<String, String> environment) {
        return ShardResolver.resolve(key -> Optional.ofNullable(configuration.get(key)), environment::get);
    }
}
