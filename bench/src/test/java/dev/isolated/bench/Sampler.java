package dev.isolated.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs cases after a warm-up and collects their timings. Cases compared side by side run in several passes;
 * in each pass every case runs a block of consecutive runs, followed by a short pause. So a slow phase of the
 * machine hits all cases alike, while work a case leaves to the kernel (a network namespace is torn down
 * asynchronously after its last process exits) slows that case's own next runs, not its neighbour's.
 */
final class Sampler {
    private static final int PASSES = 5;
    private static final long SETTLE_MILLIS = 150;

    private Sampler() {}

    /**
     * @param cases the cases by name, in report order
     * @param warmup runs of each case not counted, before the first pass
     * @param runs counted runs of each case
     * @return each case's statistics, in the same order
     * @throws Exception the first failure of any run
     */
    static Map<String, Stats> interleaved(Map<String, TimedRun> cases, int warmup, int runs) throws Exception {
        Map<String, long[]> samples = new LinkedHashMap<>();
        for (Map.Entry<String, TimedRun> c : cases.entrySet()) {
            samples.put(c.getKey(), new long[runs]);
            for (int i = 0; i < warmup; i++) {
                c.getValue().nanos();
            }
        }
        int done = 0;
        for (int pass = 0; pass < PASSES; pass++) {
            int block = (runs - done) / (PASSES - pass);
            for (Map.Entry<String, TimedRun> c : cases.entrySet()) {
                long[] into = samples.get(c.getKey());
                for (int i = done; i < done + block; i++) {
                    into[i] = c.getValue().nanos();
                }
                Thread.sleep(SETTLE_MILLIS);
            }
            done += block;
        }
        Map<String, Stats> stats = new LinkedHashMap<>();
        samples.forEach((name, nanos) -> stats.put(name, Stats.ofNanos(nanos)));
        return stats;
    }

    /**
     * @param run the case
     * @param warmup runs not counted
     * @param runs counted runs
     * @return its statistics
     * @throws Exception the first failure of any run
     */
    static Stats single(TimedRun run, int warmup, int runs) throws Exception {
        return interleaved(Map.of("case", run), warmup, runs).get("case");
    }
}
