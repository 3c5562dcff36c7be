package dev.isolated.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Judges this run's medians against the targets of issues 6, 12 and 14. */
final class Targets {
    private final Results results;

    Targets(Results results) {
        this.results = results;
    }

    List<Target> judge() {
        List<Target> targets = new ArrayList<>();
        targets.add(
                atMostRatio("one-shot ≤ 1.0× the ProcessBuilder floor", SpawnBench.ONE_SHOT, Alternatives.FLOOR, 1.0));
        targets.add(
                fasterBy("one-shot ≥ 3× faster than bwrap from the JVM", SpawnBench.ONE_SHOT, Alternatives.BWRAP, 3.0));
        targets.add(atMostRatio(
                "exec into a running environment ≤ 1.0× the floor", SpawnBench.EXEC, Alternatives.FLOOR, 1.0));
        targets.add(atMost("create + close ≤ 3 ms", SpawnBench.CREATE_CLOSE, 3.0, "ms"));
        if (results.find(ImageBench.UNPACK_TMPFS).isPresent()) {
            targets.add(atMostRatio(
                    "first unpack ≤ 1.5× tar -xf (on tmpfs, tar timed from C)",
                    ImageBench.UNPACK_TMPFS,
                    ImageBench.TAR_C_TMPFS,
                    1.5));
        }
        targets.add(atMostRatio(
                "first unpack ≤ 1.5× tar -xf (on the cache's disk, tar timed from C)",
                ImageBench.FIRST_UNPACK,
                results.find(ImageBench.TAR_C).isPresent() ? ImageBench.TAR_C : ImageBench.TAR_JVM,
                1.5));
        targets.add(below("cached start < 1 ms", ImageBench.CACHED, 1.0, "ms"));
        if (results.find(DebianUnpackBench.FIRST_UNPACK).isPresent()) {
            targets.add(atMostRatio(
                    "first unpack of the Debian+PostgreSQL image ≤ 1.0× tar -xzf (issue 14)",
                    DebianUnpackBench.FIRST_UNPACK,
                    DebianUnpackBench.TAR,
                    1.0));
            targets.add(below(
                    "a cached start of the Debian+PostgreSQL image < 1 ms (issue 14)",
                    DebianUnpackBench.CACHED,
                    1.0,
                    "ms"));
        }
        targets.add(below("copy-on-write view < 0.5 ms", CowViewBench.COW_VIEW, 0.5, "ms"));
        targets.add(atMost(
                "idle environment ≤ 512 KiB of host RSS (Pss growth per env)", MemoryBench.IDLE_PSS, 512, "KiB"));
        targets.add(atMost("200 concurrent environments without failures", MemoryBench.FAILURES, 0, "failures"));
        if (results.find(PullBench.ISOLATED_FIRST).isPresent()) {
            targets.add(atMostRatio(
                    "first pull + unpack of Debian + redis ≤ 1.0× podman pull (issue 12)",
                    PullBench.ISOLATED_FIRST,
                    PullBench.PODMAN_FIRST,
                    1.0));
            targets.add(atMost(
                    "an image sharing the base layer downloads only its config and new layer (issue 12)",
                    PullBench.ISOLATED_SECOND_BLOBS,
                    2,
                    "blobs"));
            targets.add(
                    atMost("... and never the base layer (issue 12)", PullBench.ISOLATED_SECOND_BASE, 0, "downloads"));
        }
        targets.add(atMostRatio(
                "exec into a running environment ≤ 0.5× the floor (issue 14)",
                SpawnBench.EXEC,
                Alternatives.FLOOR,
                0.5));
        if (results.find(SuiteBench.ONE_COMMAND_PER_TEST).isPresent()) {
            targets.add(atMostRatio(
                    "a test with a fresh environment and one command ≤ 1.0× its ProcessBuilder twin, per test (issue 14)",
                    SuiteBench.ONE_COMMAND_PER_TEST,
                    SuiteBench.PLAIN_ONE_COMMAND_PER_TEST,
                    1.0));
        }
        if (results.find(SuiteBench.ISOLATED_TOTAL).isPresent()) {
            targets.add(atMostRatio(
                    "the 100-test class ≤ 1.1× its ProcessBuilder twin (issue 14)",
                    SuiteBench.ISOLATED_TOTAL,
                    SuiteBench.PLAIN_TOTAL,
                    1.1));
        }
        if (results.find(FirstTestBench.ISOLATED).isPresent()) {
            targets.add(atMostMore(
                    "the first @Isolated test in a fresh JVM ≤ 100 ms over a plain one (issue 14)",
                    FirstTestBench.ISOLATED,
                    FirstTestBench.PLAIN,
                    100));
        }
        if (results.find(ScaleBench.FAILURES).isPresent()) {
            targets.add(atMost(
                    ScaleBench.ENVIRONMENTS + " concurrent environments (own NET + user namespace), a command in each,"
                            + " without failures",
                    ScaleBench.FAILURES,
                    0,
                    "failures"));
        }
        return targets;
    }

    private Optional<Double> median(String name) {
        return results.find(name).map(m -> m.stats().median());
    }

    private Target atMostRatio(String goal, String ours, String theirs, double limit) {
        Optional<Double> a = median(ours);
        Optional<Double> b = median(theirs);
        if (a.isEmpty() || b.isEmpty()) {
            return missing(goal);
        }
        double ratio = a.get() / b.get();
        String actual = String.format(
                Locale.ROOT, "%s ms ÷ %s ms = %s", Format.number(a.get()), Format.number(b.get()), Format.ratio(ratio));
        return new Target(goal, actual, ratio <= limit, relative(ratio, limit));
    }

    private Target atMostMore(String goal, String ours, String theirs, double limitMillis) {
        Optional<Double> a = median(ours);
        Optional<Double> b = median(theirs);
        if (a.isEmpty() || b.isEmpty()) {
            return missing(goal);
        }
        double more = a.get() - b.get();
        String actual = String.format(
                Locale.ROOT, "%s ms − %s ms = %+.0f ms", Format.number(a.get()), Format.number(b.get()), more);
        String gap = more <= limitMillis
                ? String.format(Locale.ROOT, "%.0f ms to spare", limitMillis - more)
                : String.format(Locale.ROOT, "over by %.0f ms", more - limitMillis);
        return new Target(goal, actual, more <= limitMillis, gap);
    }

    private Target fasterBy(String goal, String ours, String theirs, double factor) {
        Optional<Double> a = median(ours);
        Optional<Double> b = median(theirs);
        if (a.isEmpty() || b.isEmpty()) {
            return missing(goal);
        }
        double speedup = b.get() / a.get();
        String actual = String.format(
                Locale.ROOT,
                "%s ms vs %s ms: %s faster",
                Format.number(a.get()),
                Format.number(b.get()),
                Format.ratio(speedup));
        String gap = speedup >= factor
                ? "with " + Format.ratio(speedup / factor) + " to spare"
                : "needs " + Format.number(a.get() - b.get() / factor) + " ms less (to "
                        + Format.number(b.get() / factor) + " ms)";
        return new Target(goal, actual, speedup >= factor, gap);
    }

    private Target atMost(String goal, String ours, double limit, String unit) {
        return absolute(goal, ours, limit, unit, true);
    }

    private Target below(String goal, String ours, double limit, String unit) {
        return absolute(goal, ours, limit, unit, false);
    }

    private Target absolute(String goal, String ours, double limit, String unit, boolean inclusive) {
        Optional<Double> a = median(ours);
        if (a.isEmpty()) {
            return missing(goal);
        }
        double v = a.get();
        boolean met = inclusive ? v <= limit : v < limit;
        String gap;
        if (limit == 0) {
            gap = met ? "" : Format.number(v) + " " + unit;
        } else {
            gap = (met ? "" : "over by " + Format.number(v - limit) + " " + unit + ", ") + relative(v / limit, 1.0);
        }
        return new Target(goal, Format.number(v) + " " + unit, met, gap);
    }

    private static String relative(double ratio, double limit) {
        double percent = (ratio / limit - 1) * 100;
        return String.format(Locale.ROOT, "%+.0f%% vs the limit", percent);
    }

    private static Target missing(String goal) {
        return new Target(goal, "not measured (see the notes)", null, "");
    }
}
