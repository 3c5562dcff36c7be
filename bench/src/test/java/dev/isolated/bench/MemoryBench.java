package dev.isolated.bench;

import dev.isolated.IsolatedEnvironment;
import dev.isolated.internal.helper.SharedHelper;
import java.util.ArrayList;
import java.util.List;

/**
 * Section 6: 200 environments open at once (time to open them, failures), and what an idle environment
 * costs the host: its init's VmRSS and Pss (the init is forked from the helper without exec, so it shares
 * the helper's pages; Pss divides them), plus the helper's own growth per environment.
 */
final class MemoryBench {
    static final int ENVIRONMENTS = 200;
    static final String OPEN_ALL = "Isolated: open 200 environments at once, total";
    static final String CLOSE_ALL = "Isolated: close those 200, total";
    static final String PER_ENV_OPEN = "Isolated: open, per environment, while others are open";
    static final String IDLE_PSS = "idle environment: (helper + inits) Pss growth / 200";
    static final String INIT_RSS = "  init VmRSS (counts pages shared with the helper in full)";
    static final String INIT_PSS = "  init Pss";
    static final String HELPER_PSS = "  helper Pss, with 200 environments open";
    static final String FAILURES = "failures among the 200";

    private final BenchContext ctx;

    MemoryBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run() throws Exception {
        Results results = ctx.results();
        long helperPid = SharedHelper.get().pid();
        System.gc();
        long helperBefore = ProcMemory.pssKib(helperPid);
        List<IsolatedEnvironment> open = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        double[] openMillis = new double[ENVIRONMENTS];
        long start = System.nanoTime();
        for (int i = 0; i < ENVIRONMENTS; i++) {
            long t0 = System.nanoTime();
            try {
                open.add(SpawnBench.environment().start());
            } catch (RuntimeException e) {
                failures.add("#" + i + ": " + e.getMessage());
            }
            openMillis[i] = (System.nanoTime() - t0) / 1e6;
        }
        double openAll = (System.nanoTime() - start) / 1e6;
        Thread.sleep(500); // let the inits settle into their idle loop
        long helperAfter = ProcMemory.pssKib(helperPid);
        double[] rss = new double[open.size()];
        double[] pss = new double[open.size()];
        for (int i = 0; i < open.size(); i++) {
            rss[i] = ProcMemory.rssKib(open.get(i).initHostPid());
            pss[i] = ProcMemory.pssKib(open.get(i).initHostPid());
        }
        long closeStart = System.nanoTime();
        for (IsolatedEnvironment env : open) {
            env.close();
        }
        double closeAll = (System.nanoTime() - closeStart) / 1e6;

        // The inits share the helper's pages, so the helper's own Pss falls as they come: the marginal cost
        // is everything's Pss afterwards minus the helper's before, divided among the environments.
        int n = Math.max(1, open.size());
        double marginal = (helperAfter + java.util.Arrays.stream(pss).sum() - helperBefore) / n;
        results.add(Measurement.millis(
                Section.MEMORY,
                OPEN_ALL,
                Kind.ISOLATED,
                Stats.of(new double[] {openAll}),
                "one after another from one thread; the helper serves them one at a time"));
        results.add(Measurement.millis(
                Section.MEMORY,
                PER_ENV_OPEN,
                Kind.DETAIL,
                Stats.of(openMillis),
                "builder().start() with 0 to 199 others open"));
        results.add(Measurement.millis(Section.MEMORY, CLOSE_ALL, Kind.DETAIL, Stats.of(new double[] {closeAll}), ""));
        results.add(
                kib(
                        IDLE_PSS,
                        Kind.ISOLATED,
                        Stats.of(new double[] {marginal}),
                        "the figure for the target; "
                                + "user-space pages only: the kernel's share (namespaces, page tables, an empty tmpfs) is not in it"));
        results.add(kib(INIT_RSS, Kind.DETAIL, Stats.of(rss), "/proc/<init>/status"));
        results.add(kib(INIT_PSS, Kind.DETAIL, Stats.of(pss), "/proc/<init>/smaps_rollup"));
        results.add(kib(
                HELPER_PSS,
                Kind.DETAIL,
                Stats.of(new double[] {helperAfter}),
                "helper Pss " + helperBefore + " KiB before the " + open.size() + " were opened"));
        results.add(new Measurement(
                Section.MEMORY,
                FAILURES,
                failures.isEmpty() ? Kind.ISOLATED : Kind.DETAIL,
                new Stats(1, failures.size(), failures.size(), failures.size()),
                "count",
                failures.isEmpty() ? "all " + ENVIRONMENTS + " opened" : String.join("; ", failures)));
    }

    private static Measurement kib(String name, Kind kind, Stats stats, String note) {
        return new Measurement(Section.MEMORY, name, kind, stats, "KiB", note);
    }
}
