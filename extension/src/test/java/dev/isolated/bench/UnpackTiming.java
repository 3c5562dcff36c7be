package dev.isolated.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.isolated.internal.image.ImageCache;
import dev.isolated.internal.image.ImageSource;
import dev.isolated.internal.image.RootfsLocator;
import dev.isolated.internal.image.SafeTarUnpacker;
import dev.isolated.internal.image.UnpackLimits;

/**
 * A timing harness (not a test): the first unpack of {@code busybox.tar} by {@link SafeTarUnpacker},
 * side by side with {@code tar -xf} of the same file, and a cached {@link ImageCache#rootfsFor} call.
 * Each case runs into a fresh directory; prints medians and the ratio to {@code tar -xf}. Arguments:
 * the number of runs (default 20).
 */
public final class UnpackTiming {

    private static final int WARMUP_RUNS = 3;

    private UnpackTiming() {
    }

    /** A case to time, given a fresh empty directory. */
    private interface Case {

        void run(Path fresh) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        Path work = Files.createTempDirectory("isolated-unpack-timing-");
        try {
            Path tar = work.resolve("busybox.tar");
            try (InputStream in = resource("busybox.tar")) {
                Files.copy(in, tar);
            }
            SafeTarUnpacker unpacker = new SafeTarUnpacker(UnpackLimits.defaults());
            ImageCache cache = new ImageCache(work.resolve("cache"), unpacker, note -> { });
            RootfsLocator locator = new RootfsLocator(UnpackTiming.class.getClassLoader(), work);
            ImageSource source = locator.locate("busybox.tar");
            cache.rootfsFor(source); // unpacked once; the timed calls find it

            Map<String, Case> cases = new LinkedHashMap<>();
            cases.put("tar -xf busybox.tar (spawned, the baseline)", fresh -> spawn("tar", "-xf", tar.toString(), "-C",
                    fresh.toString()));
            cases.put("  of which: spawning /bin/true (the floor)", fresh -> spawn("/bin/true"));
            cases.put("SafeTarUnpacker.unpack, first unpack", fresh -> {
                try (InputStream in = Files.newInputStream(tar)) {
                    unpacker.unpack(in, "busybox.tar", fresh);
                }
            });
            cases.put("ImageCache.rootfsFor, cached (resource in jar)", fresh -> cache.rootfsFor(source));
            cases.put("RootfsLocator.locate + rootfsFor, cached", fresh -> cache.rootfsFor(locator.locate("busybox.tar")));

            Map<String, double[]> results = new LinkedHashMap<>();
            for (Map.Entry<String, Case> timed : cases.entrySet()) {
                results.put(timed.getKey(), measure(timed.getValue(), runs, work));
            }
            print(results, runs, Files.size(tar));
        }
        finally {
            spawn("rm", "-rf", work.toString());
        }
    }

    private static double[] measure(Case timed, int runs, Path work) throws Exception {
        List<Double> millis = new ArrayList<>();
        for (int i = 0; i < WARMUP_RUNS + runs; i++) {
            Path fresh = Files.createTempDirectory(work, "run-");
            long start = System.nanoTime();
            timed.run(fresh);
            long elapsed = System.nanoTime() - start;
            spawn("rm", "-rf", fresh.toString());
            if (i >= WARMUP_RUNS) {
                millis.add(elapsed / 1e6);
            }
        }
        double[] sorted = millis.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return new double[] {sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1]};
    }

    private static void print(Map<String, double[]> results, int runs, long tarBytes) {
        double baseline = results.values().iterator().next()[0];
        System.out.printf("busybox.tar: %d bytes; %d runs after %d warm-up runs, warm JVM%n", tarBytes, runs, WARMUP_RUNS);
        System.out.printf("%-48s %10s %9s %9s %10s%n", "what", "median ms", "min ms", "max ms", "÷ tar -xf");
        for (Map.Entry<String, double[]> result : results.entrySet()) {
            double[] r = result.getValue();
            System.out.printf("%-48s %10.3f %9.3f %9.3f %10.3f%n", result.getKey(), r[0], r[1], r[2], r[0] / baseline);
        }
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = UnpackTiming.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IOException(name + " is not on the class path; add the test dependency dev.isolated:isolated-images");
        }
        return in;
    }

    private static void spawn(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        int exit = process.waitFor();
        if (exit != 0) {
            throw new IllegalStateException(Arrays.toString(command) + " exited with " + exit + ": " + output);
        }
    }
}
