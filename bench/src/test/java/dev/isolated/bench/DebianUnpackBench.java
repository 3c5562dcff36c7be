package dev.isolated.bench;

import dev.isolated.internal.image.ImageCache;
import dev.isolated.internal.image.ImageSource;
import dev.isolated.internal.image.RootfsLocator;
import dev.isolated.internal.image.SafeTarUnpacker;
import dev.isolated.internal.image.UnpackLimits;
import dev.isolated.testimages.DebianImages;
import dev.isolated.testimages.RootfsLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Section 4, the image (issue 14): the first unpack of Debian + postgresql-15 (two gzip layers, the debootstrap
 * minbase and what installing postgresql-15 changed) from an OCI archive into a fresh cache directory, against
 * {@code tar -xzf} of the same layer blobs, one after the other, into a fresh directory on the same disk; and a
 * cached start of that image. Each timed run starts after a {@code sync}, so no write-back of the run before falls
 * into it.
 */
final class DebianUnpackBench {
    static final String FIRST_UNPACK =
            "Isolated: first unpack of Debian + postgresql-15 (OCI archive, fresh cache dir)";
    static final String FROM_LAYOUT = "  the same from an OCI layout directory (what a pull leaves)";
    static final String TAR = "tar -xzf of the same layers, one after the other, same disk";
    static final String CACHED = "Isolated: cached start of the Debian + postgresql-15 image (locate + rootfsFor)";

    private static final int WARMUP = 1;
    private static final int RUNS = 4;

    private final BenchContext ctx;

    DebianUnpackBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run() throws Exception {
        Results results = ctx.results();
        if (!Files.isDirectory(DebianImages.ROOTFS_CACHE.resolve("postgresql"))) {
            results.note(
                    "The Debian + postgresql-15 unpack (section 4) was skipped: it needs the Debian test images in "
                            + DebianImages.ROOTFS_CACHE + ", which .ci/install-deps builds");
            return;
        }
        Path scratch = Files.createDirectories(ctx.workDir().resolve("debian-unpack"));
        try {
            Path layout = scratch.resolve("layout");
            List<RootfsLayer.Written> layers = DebianImages.writeLayout(layout, DebianImages.POSTGRES);
            Path archive = scratch.resolve("postgresql-oci.tar");
            Processes.run(
                    "tar", "-cf", archive.toString(), "-C", layout.toString(), "oci-layout", "index.json", "blobs");
            SafeTarUnpacker unpacker = new SafeTarUnpacker(UnpackLimits.defaults());
            String sizes = sizes(layers);

            Map<String, TimedRun> cases = new LinkedHashMap<>();
            cases.put(
                    FIRST_UNPACK,
                    synced(
                            scratch,
                            fresh -> new ImageCache(fresh, unpacker, note -> {})
                                    .rootfsFor(ImageSource.ofFile(archive))));
            cases.put(
                    FROM_LAYOUT,
                    synced(
                            scratch,
                            fresh -> new ImageCache(fresh, unpacker, note -> {})
                                    .rootfsFor(ImageSource.ofDirectory(layout))));
            cases.put(TAR, synced(scratch, fresh -> {
                for (int i = 0; i < layers.size(); i++) {
                    Path tree = Files.createDirectory(fresh.resolve("layer" + i));
                    Processes.run("tar", "-xzf", layers.get(i).file().toString(), "-C", tree.toString());
                }
            }));
            Map<String, Stats> stats = Sampler.interleaved(cases, WARMUP, RUNS);
            results.add(Measurement.millis(
                    Section.IMAGE,
                    FIRST_UNPACK,
                    Kind.ISOLATED,
                    stats.get(FIRST_UNPACK),
                    "ImageCache.rootfsFor of an OCI archive (" + mb(Files.size(archive)) + ") of " + sizes
                            + ": digest + archive unpacked + layers stored + rootfs linked + marker"));
            results.add(Measurement.millis(
                    Section.IMAGE,
                    FROM_LAYOUT,
                    Kind.DETAIL,
                    stats.get(FROM_LAYOUT),
                    "ImageCache.rootfsFor of the layout directory: layers stored + rootfs linked + marker"));
            results.add(Measurement.millis(
                    Section.IMAGE,
                    TAR,
                    Kind.ALTERNATIVE,
                    stats.get(TAR),
                    "GNU tar, one process per layer, each into a directory of its own: the baseline of the target"));

            Path cacheDir = Files.createDirectories(scratch.resolve("cache"));
            ImageCache cache = new ImageCache(cacheDir, unpacker, note -> {});
            RootfsLocator locator = new RootfsLocator(getClass().getClassLoader(), Paths.get(""));
            cache.rootfsFor(locator.locate(archive.toString()));
            results.add(Measurement.millis(
                    Section.IMAGE,
                    CACHED,
                    Kind.ISOLATED,
                    Sampler.single(
                            TimedRun.whole(() -> cache.rootfsFor(locator.locate(archive.toString()))), 200, 2000),
                    "the OCI archive above, already unpacked in the cache: what a new JVM pays before its first "
                            + "environment"));
        } finally {
            Trees.delete(scratch);
        }
    }

    /** A fresh directory under {@code scratch} for each run, after a {@code sync} that is not timed. */
    private static TimedRun synced(Path scratch, FreshDirRun.Work work) {
        FreshDirRun run = new FreshDirRun(scratch, work);
        return () -> {
            Processes.run("sync");
            return run.nanos();
        };
    }

    private static String sizes(List<RootfsLayer.Written> layers) {
        StringBuilder sb = new StringBuilder("layers (gzip) ");
        for (int i = 0; i < layers.size(); i++) {
            sb.append(i == 0 ? "" : " + ").append(mb(layers.get(i).size()));
        }
        return sb.toString();
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
