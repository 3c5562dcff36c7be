package dev.isolated.bench;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.ArrayList;
import java.util.List;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Section 5: a class of 100 {@code @Isolated} tests (fresh environment, two commands each) through the
 * JUnit Platform Launcher in this JVM, against the same 100 tests running the two commands with plain
 * ProcessBuilder, and the same class with the extension's spare environments switched off; then a class of 100
 * tests with one command each against its ProcessBuilder twin. Each class runs several times, interleaved; the
 * first round is a warm-up.
 */
final class SuiteBench {
    static final String ISOLATED_TOTAL = "Isolated: 100 tests, total";
    static final String PLAIN_TOTAL = "ProcessBuilder on the host: 100 tests, total";
    static final String ISOLATED_PER_TEST = "Isolated: per test (env + 2 commands + close)";
    static final String PLAIN_PER_TEST = "ProcessBuilder on the host: per test (2 commands)";
    static final String NO_SPARE_TOTAL = "Isolated, isolated.spareEnvironments=false: 100 tests, total";
    static final String NO_SPARE_PER_TEST = "Isolated, isolated.spareEnvironments=false: per test";
    static final String ONE_COMMAND_PER_TEST = "Isolated, 100 tests × 1 command: per test (env + echo + close)";
    static final String PLAIN_ONE_COMMAND_PER_TEST = "ProcessBuilder on the host, 100 tests × 1 command: per test";
    private static final int ROUNDS = 6;

    private final BenchContext ctx;

    SuiteBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run() {
        Launcher launcher = LauncherFactory.create();
        List<Double> isolatedTotals = new ArrayList<>();
        List<Double> plainTotals = new ArrayList<>();
        List<Double> isolatedTests = new ArrayList<>();
        List<Double> plainTests = new ArrayList<>();
        List<Double> noSpareTotals = new ArrayList<>();
        List<Double> noSpareTests = new ArrayList<>();
        List<Double> oneCommandTests = new ArrayList<>();
        List<Double> plainOneCommandTests = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            TestTimer isolated =
                    runClass(launcher, IsolatedSuiteFixture.class, true, round > 0 ? isolatedTotals : null);
            TestTimer noSpare = runClass(launcher, IsolatedSuiteFixture.class, false, round > 0 ? noSpareTotals : null);
            TestTimer plain = runClass(launcher, PlainSuiteFixture.class, true, round > 0 ? plainTotals : null);
            TestTimer oneCommand = runClass(launcher, IsolatedOneCommandFixture.class, true, null);
            TestTimer plainOneCommand = runClass(launcher, PlainOneCommandFixture.class, true, null);
            if (round > 0) {
                oneCommandTests.addAll(oneCommand.millis());
                plainOneCommandTests.addAll(plainOneCommand.millis());
                isolatedTests.addAll(isolated.millis());
                noSpareTests.addAll(noSpare.millis());
                plainTests.addAll(plain.millis());
            }
        }
        String how = (ROUNDS - 1) + " runs of the class after one warm-up run, in-process Launcher";
        Results results = ctx.results();
        results.add(Measurement.millis(Section.SUITE, ISOLATED_TOTAL, Kind.ISOLATED, stats(isolatedTotals), how));
        results.add(Measurement.millis(Section.SUITE, PLAIN_TOTAL, Kind.ALTERNATIVE, stats(plainTotals), how));
        results.add(Measurement.millis(
                Section.SUITE,
                ISOLATED_PER_TEST,
                Kind.ISOLATED,
                stats(isolatedTests),
                "from the Launcher's start/finish events; includes the extension's callbacks"));
        results.add(Measurement.millis(Section.SUITE, NO_SPARE_TOTAL, Kind.ISOLATED, stats(noSpareTotals), how));
        results.add(Measurement.millis(
                Section.SUITE,
                NO_SPARE_PER_TEST,
                Kind.ISOLATED,
                stats(noSpareTests),
                "the same class with the extension's spare environments switched off"));
        results.add(Measurement.millis(
                Section.SUITE, PLAIN_PER_TEST, Kind.ALTERNATIVE, stats(plainTests), "/bin/echo hello, /bin/hostname"));
        results.add(Measurement.millis(
                Section.SUITE,
                ONE_COMMAND_PER_TEST,
                Kind.ISOLATED,
                stats(oneCommandTests),
                "what Surefire reports per test; from the Launcher's start/finish events"));
        results.add(Measurement.millis(
                Section.SUITE, PLAIN_ONE_COMMAND_PER_TEST, Kind.ALTERNATIVE, stats(plainOneCommandTests), "/bin/echo"));
        results.add(Measurement.millis(
                Section.SUITE, Anchors.TC_FRESH, Kind.ANCHOR, Stats.quoted(1340), "anchor, not measured here"));
    }

    private static TestTimer runClass(Launcher launcher, Class<?> testClass, boolean spares, List<Double> totals) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(testClass))
                .configurationParameter("isolated.spareEnvironments", Boolean.toString(spares))
                .build();
        TestTimer timer = new TestTimer();
        long start = System.nanoTime();
        launcher.execute(request, timer);
        long nanos = System.nanoTime() - start;
        if (!timer.failures().isEmpty() || timer.millis().size() != IsolatedSuiteFixture.TESTS) {
            throw new IllegalStateException(testClass.getSimpleName() + ": "
                    + timer.millis().size() + " tests finished; " + "failures: " + timer.failures());
        }
        if (totals != null) {
            totals.add(nanos / 1e6);
        }
        return timer;
    }

    private static Stats stats(List<Double> millis) {
        return Stats.of(millis.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
