package dev.isolated.bench;

import java.util.List;

/**
 * A ratio the report states: an Isolated measurement divided by an alternative doing the same work.
 *
 * @param isolated the Isolated measurement's name
 * @param label a short name for it in ratio columns
 * @param alternative the alternative's name
 */
record Comparison(String isolated, String label, String alternative) {

    /** @return every comparison of the report, in order */
    static List<Comparison> all() {
        List<Comparison> all = new java.util.ArrayList<>(List.of(
                new Comparison(SpawnBench.ONE_SHOT, "one-shot", Alternatives.FLOOR),
                new Comparison(SpawnBench.ONE_SHOT, "one-shot", Alternatives.UNSHARE),
                new Comparison(SpawnBench.ONE_SHOT, "one-shot", Alternatives.BWRAP),
                new Comparison(SpawnBench.ONE_SHOT, "one-shot", Anchors.TC_ONE_SHOT),
                new Comparison(SpawnBench.EXEC, "exec", Alternatives.FLOOR),
                new Comparison(SpawnBench.EXEC, "exec", Alternatives.UNSHARE),
                new Comparison(SpawnBench.EXEC, "exec", Alternatives.BWRAP),
                new Comparison(SpawnBench.EXEC, "exec", Anchors.TC_EXEC),
                new Comparison(SpawnBench.HELPER_CLI, "helper run", SpawnBench.C_FLOOR),
                new Comparison(SpawnBench.HELPER_CLI, "helper run", SpawnBench.C_UNSHARE),
                new Comparison(SpawnBench.HELPER_CLI, "helper run", SpawnBench.C_BWRAP),
                new Comparison(ImageBench.FIRST_UNPACK, "first unpack", ImageBench.TAR_JVM),
                new Comparison(ImageBench.FIRST_UNPACK, "first unpack", ImageBench.TAR_SH),
                new Comparison(ImageBench.FIRST_UNPACK, "first unpack", ImageBench.TAR_C),
                new Comparison(ImageBench.UNPACK_TMPFS, "unpack on tmpfs", ImageBench.TAR_C_TMPFS),
                new Comparison(SuiteBench.ISOLATED_TOTAL, "total", SuiteBench.PLAIN_TOTAL),
                new Comparison(SuiteBench.ISOLATED_PER_TEST, "per test", SuiteBench.PLAIN_PER_TEST),
                new Comparison(SuiteBench.ISOLATED_TOTAL, "total", SuiteBench.NO_SPARE_TOTAL),
                new Comparison(SuiteBench.NO_SPARE_TOTAL, "total without spares", SuiteBench.PLAIN_TOTAL),
                new Comparison(SuiteBench.ISOLATED_PER_TEST, "per test", SuiteBench.NO_SPARE_PER_TEST),
                new Comparison(SuiteBench.ONE_COMMAND_PER_TEST, "per test", SuiteBench.PLAIN_ONE_COMMAND_PER_TEST),
                new Comparison(SuiteBench.ISOLATED_PER_TEST, "per test", Anchors.TC_FRESH),
                new Comparison(PullBench.ISOLATED_FIRST, "first pull", PullBench.PODMAN_FIRST),
                new Comparison(PullBench.ISOLATED_SECOND, "second image", PullBench.PODMAN_SECOND),
                new Comparison(FirstTestBench.ISOLATED, "first test", FirstTestBench.PLAIN)));
        all.addAll(HardeningBench.COMPARISONS);
        all.addAll(FrozenBench.COMPARISONS);
        all.addAll(RootlessBench.COMPARISONS);
        return List.copyOf(all);
    }
}
