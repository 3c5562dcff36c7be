package dev.isolated.internal.image;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A by-hand timing, not a test: stores gzip layers in a fresh {@link LayerStore} under the scratch
 * directory, then merges them into a rootfs with {@link LayerMerger}, and prints the time of each phase.
 * {@code java -cp ... dev.isolated.internal.image.LayerMergeTiming SCRATCH LAYER.tar.gz...}.
 */
public final class LayerMergeTiming {

    private LayerMergeTiming() {}

    public static void main(String[] args) throws Exception {
        Path scratch = Files.createDirectories(Path.of(args[0]));
        Path cache = Files.createTempDirectory(scratch, "cache");
        LayerStore store = new LayerStore(cache);
        List<StoredLayer> stored = new ArrayList<>();
        List<String> names = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 1; i < args.length; i++) {
            Path blob = Path.of(args[i]);
            String name = "layer " + i;
            names.add(name);
            stored.add(store.store(
                    null,
                    "timing",
                    name,
                    tree -> TarExtraction.forStoredLayer(
                            new ImageBudget(UnpackLimits.fromSystemProperties()), "timing", tree, b -> {}),
                    extraction -> {
                        try (InputStream in = Files.newInputStream(blob)) {
                            extraction.extractLayer(in, name);
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }));
        }
        long storedAt = System.nanoTime();
        Path rootfs = Files.createDirectory(cache.resolve("rootfs"));
        LayerMerger.merge(stored, names, rootfs, "timing");
        long mergedAt = System.nanoTime();
        System.out.printf(
                "store %d ms, merge %d ms%n", (storedAt - start) / 1_000_000, (mergedAt - storedAt) / 1_000_000);
        new ProcessBuilder("rm", "-rf", cache.toString()).inheritIO().start().waitFor();
    }
}
