package dev.isolated.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * Section 9 (issue 14): what the first {@code @Isolated} test costs a fresh JVM (locating, extracting and
 * starting the helper, finding the unpacked image, the first environment, all in unwarmed code) against a plain
 * first test: a child JVM per run, from its start to its exit, the two kinds interleaved; the first round is a
 * warm-up (it extracts the helper and unpacks the image if needed, and its {@code @Isolated} child lets its
 * automatic cache prune end, as a JVM running a suite does, so the counted rounds find the cache as such a JVM
 * leaves it; they exit right after their test, as before).
 */
final class FirstTestBench {
    static final String ISOLATED = "Isolated: a fresh JVM running one @Isolated test (/bin/true)";
    static final String PLAIN = "ProcessBuilder: a fresh JVM running one plain test (/bin/true)";
    private static final int ROUNDS = 11;

    private final BenchContext ctx;

    FirstTestBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run() throws IOException, InterruptedException {
        List<Double> isolated = new ArrayList<>();
        List<Double> plain = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            double i = childMillis(FirstTestFixtures.IsolatedFirst.class, round == 0);
            double p = childMillis(FirstTestFixtures.PlainFirst.class, false);
            if (round > 0) {
                isolated.add(i);
                plain.add(p);
            }
        }
        String how = (ROUNDS - 1)
                + " child JVMs each, interleaved, after one warm-up round (whose @Isolated child lets its cache prune"
                + " end); same class path and JVM";
        Results results = ctx.results();
        results.add(Measurement.millis(Section.FIRST_TEST, ISOLATED, Kind.ISOLATED, stats(isolated), how));
        results.add(Measurement.millis(Section.FIRST_TEST, PLAIN, Kind.ALTERNATIVE, stats(plain), how));
    }

    private static double childMillis(Class<?> testClass, boolean awaitPrune) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                FirstTestChild.class.getName(),
                testClass.getName()));
        if (awaitPrune) {
            command.add("--await-prune");
        }
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectErrorStream(true);
        long start = System.nanoTime();
        Process child = pb.start();
        byte[] output = child.getInputStream().readAllBytes();
        int code = child.waitFor();
        long nanos = System.nanoTime() - start;
        if (code != 0) {
            throw new IllegalStateException("The child JVM running " + testClass.getSimpleName() + " exited with "
                    + code + ": " + new String(output, StandardCharsets.UTF_8));
        }
        return nanos / 1e6;
    }

    private static Stats stats(List<Double> millis) {
        return Stats.of(millis.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
