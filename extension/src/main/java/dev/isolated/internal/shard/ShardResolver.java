package dev.isolated.internal.shard;

import static dev.isolated.IsolatedConfiguration.SHARD;
import static dev.isolated.IsolatedConfiguration.SHARD_TOTAL;

import java.util.Optional;
import java.util.function.Function;

/**
 * Which shard this run keeps: {@code isolated.shard}; else a Kubernetes indexed Job's {@code JOB_COMPLETION_INDEX}
 * (from 0) with {@code isolated.shard.total}; else GitLab's {@code CI_NODE_INDEX} (from 1) and {@code CI_NODE_TOTAL}
 * in a {@code parallel: N} job; else none. GitLab sets the same two variables in {@code parallel: matrix:} jobs,
 * where each job must run the whole suite: they count only when {@code CI_JOB_NAME} is absent or ends with
 * {@code " INDEX/TOTAL"}, as the names of {@code parallel: N} jobs do ({@code "test 2/4"}; a matrix job is
 * {@code "test: [17]"}).
 */
final class ShardResolver {
    static final String K8S_INDEX = "JOB_COMPLETION_INDEX";
    static final String GITLAB_INDEX = "CI_NODE_INDEX";
    static final String GITLAB_TOTAL = "CI_NODE_TOTAL";
    static final String GITLAB_JOB_NAME = "CI_JOB_NAME";

    private ShardResolver() {}

    /**
     * @param configuration a configuration parameter by key, empty when unset
     * @param environment an environment variable by name, {@code null} when unset
     */
    static Optional<Shard> resolve(
            Function<String, Optional<String>> configuration, Function<String, String> environment) {
        Optional<String> shard = set(configuration.apply(SHARD));
        Optional<String> total = set(configuration.apply(SHARD_TOTAL));
        if (shard.isPresent()) {
            Shard parsed = Shard.parse(shard.get());
            if (total.isPresent() && !total.get().strip().equals(Integer.toString(parsed.total()))) {
                throw new InvalidShardException(SHARD + " '" + shard.get() + "' and " + SHARD_TOTAL + " '" + total.get()
                        + "' disagree: set only " + SHARD);
            }
            return Optional.of(parsed);
        }
        if (total.isPresent()) {
            return Optional.of(kubernetes(total.get(), environment.apply(K8S_INDEX)));
        }
        String gitlabIndex = environment.apply(GITLAB_INDEX);
        String gitlabTotal = environment.apply(GITLAB_TOTAL);
        if (gitlabIndex != null && gitlabTotal != null) {
            String jobName = environment.apply(GITLAB_JOB_NAME);
            if (jobName == null || jobName.endsWith(" " + gitlabIndex + "/" + gitlabTotal)) {
                return Optional.of(gitlab(gitlabIndex, gitlabTotal));
            }
        }
        return Optional.empty();
    }

    private static Shard kubernetes(String total, String index) {
        int shards = number(total)
                .filter(n -> n >= 1)
                .orElseThrow(() -> new InvalidShardException(SHARD_TOTAL + " '"
                        + total
                        + "' is not valid: expected a whole number of shards, 1 or more (the indexed Job's completions),"
                        + " e.g. -D" + SHARD_TOTAL + "=8"));
        if (index == null) {
            throw new InvalidShardException(SHARD_TOTAL + " '" + total + "' is set but " + K8S_INDEX + " is not: "
                    + SHARD_TOTAL
                    + " is for the pods of Kubernetes indexed Jobs (completionMode: Indexed); elsewhere set "
                    + SHARD + "=INDEX/TOTAL");
        }
        int from0 = number(index)
                .filter(i -> i < shards)
                .orElseThrow(() -> new InvalidShardException(K8S_INDEX + " '"
                        + index + "' is not a shard of " + SHARD_TOTAL + " '" + total + "': expected 0 <= " + K8S_INDEX
                        + " < "
                        + shards + " (it counts from 0; " + SHARD_TOTAL + " must be the Job's completions)"));
        return new Shard(from0 + 1, shards);
    }

    private static Shard gitlab(String index, String total) {
        Optional<Integer> i = number(index);
        Optional<Integer> n = number(total);
        if (i.isEmpty() || n.isEmpty() || i.get() < 1 || i.get() > n.get()) {
            throw new InvalidShardException(GITLAB_INDEX + " '" + index + "' and " + GITLAB_TOTAL + " '" + total
                    + "' are not a shard: expected 1 <= " + GITLAB_INDEX + " <= " + GITLAB_TOTAL
                    + " (GitLab's parallel:"
                    + " sets them); set " + SHARD + "=INDEX/TOTAL to override them");
        }
        return new Shard(i.get(), n.get());
    }

    private static Optional<Integer> number(String s) {
        String digits = s.strip();
        return digits.matches("\\d{1,9}") ? Optional.of(Integer.parseInt(digits)) : Optional.empty();
    }

    private static Optional<String> set(Optional<String> value) {
        return value.filter(v -> !v.isBlank());
    }
}
