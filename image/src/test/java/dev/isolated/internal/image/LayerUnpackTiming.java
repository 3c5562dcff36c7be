package dev.isolated.internal.image;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A by-hand timing, not a test: unpacks gzip layers with {@link TarExtraction#forStoredLayer} one after the
 * other, then with {@code tar -xzf}, interleaved, into fresh directories under the given scratch directory,
 * and prints the times and their ratio. Run with the test classpath:
 * {@code java -cp ... dev.isolated.internal.image.LayerUnpackTiming SCRATCH ROUNDS LAYER.tar.gz...}.
 */
public final class LayerUnpackTiming {

    private LayerUnpackTiming() {}

    public static void main(String[] args) throws Exception {
        Path scratch = Path.of(args[0]);
        int rounds = Integer.parseInt(args[1]);
        List<Path> layers =
                List.of(args).subList(2, args.length).stream().map(Path::of).toList();
        for (int round = 1; round <= rounds; round++) {
            long isolated = time(() -> isolated(scratch, layers));
            long tar = time(() -> tar(scratch, layers));
            System.out.printf(
                    "round %d: Isolated %d ms, tar -xzf %d ms, ratio %.2f%n",
                    round, isolated, tar, (double) isolated / tar);
        }
    }

    private interface Run {
        void run() throws Exception;
    }

    private static long time(Run run) throws Exception {
        long start = System.nanoTime();
        run.run();
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }

    private static void isolated(Path scratch, List<Path> layers) throws Exception {
        Path target = fresh(scratch, "isolated");
        for (int i = 0; i < layers.size(); i++) {
            Path tree = Files.createDirectories(target.resolve("layer" + i));
            TarExtraction extraction = TarExtraction.forStoredLayer(
                    new ImageBudget(UnpackLimits.fromSystemProperties()), "timing", tree, bytes -> {});
            try (InputStream in = Files.newInputStream(layers.get(i))) {
                extraction.extractLayer(in, "layer " + i);
            }
            extraction.finish();
        }
    }

    private static void tar(Path scratch, List<Path> layers) throws Exception {
        Path target = fresh(scratch, "tar");
        for (int i = 0; i < layers.size(); i++) {
            Path tree = Files.createDirectories(target.resolve("layer" + i));
            Process process = new ProcessBuilder("tar", "-xzf", layers.get(i).toString(), "-C", tree.toString())
                    .inheritIO()
                    .start();
            if (process.waitFor() != 0) {
                throw new IllegalStateException("tar failed");
            }
        }
    }

    private static Path fresh(Path scratch, String name) throws Exception {
        Path target = scratch.resolve(name);
        if (Files.exists(target)) {
            new ProcessBuilder("rm", "-rf", target.toString())
                    .inheritIO()
                    .start()
                    .waitFor();
        }
        new ProcessBuilder("sync").inheritIO().start().waitFor(); // no write-back of the last run during this one
        return Files.createDirectories(target);
    }
}
