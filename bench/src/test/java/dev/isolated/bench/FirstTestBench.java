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
 * warm-up (it extracts the helper and unpacks the image if needed).
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
            double i = childMillis(FirstTestFixtures.IsolatedFirst.class);
            double p = childMillis(FirstTestFixtures.PlainFirst.class);
            if (round > 0) {
                isolated.add(i);
                plain.add(p);
            }
        }
        String how = (ROUNDS - 1) + " child JVMs each, interleaved, after one warm-up round; same class path and JVM";
        Results results = ctx.results();
        results.add(Measurement.millis(Section.FIRST_TEST, ISOLATED, Kind.ISOLATED, stats(isolated), how));
        results.add(Measurement.millis(Section.FIRST_TEST, PLAIN, Kind.ALTERNATIVE, stats(plain), how));
    }

    private static double childMillis(Class<?> testClass) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                FirstTestChild.class.getName(),
                testClass.getName());
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
