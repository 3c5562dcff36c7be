package dev.isolated.bench;

import dev.isolated.IsolatedConfiguration;
import dev.isolated.internal.image.ImageCache;
import dev.isolated.internal.image.ImageSource;
import dev.isolated.internal.image.SafeTarUnpacker;
import dev.isolated.internal.image.UnpackLimits;
import dev.isolated.internal.registry.ImagePuller;
import dev.isolated.internal.registry.PullSettings;
import dev.isolated.testimages.DebianImages;
import dev.isolated.testimages.RootfsLayer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Section 8, images by name (issue 12): Debian bookworm + redis-server (two layers: the debootstrap minbase and
 * what installing redis changed), pushed to Debian's docker-registry on 127.0.0.1, pulled into an empty store by
 * Isolated (download, verify, unpack) and by {@code podman pull} (download, verify, unpack into its overlay
 * storage) side by side; then Debian + postgresql-15, which shares the base layer, into a store that already holds
 * the redis image: how long, and how many blobs each downloaded (counted in the registry's log).
 */
final class PullBench {
    static final String ISOLATED_FIRST = "Isolated: first pull + unpack of Debian + redis, empty store";
    static final String PODMAN_FIRST = "podman pull of the same image, empty storage";
    static final String ISOLATED_FIRST_PULL = "  of which ImagePuller.pull: download, verify, lay out";
    static final String ISOLATED_FIRST_UNPACK = "  of which ImageCache.unpack: both layers into one rootfs";
    static final String ISOLATED_SECOND = "Isolated: pull + unpack of Debian + postgresql-15, base layer stored";
    static final String PODMAN_SECOND = "podman pull of Debian + postgresql-15, base layer stored";
    static final String ISOLATED_SECOND_BLOBS = "Isolated: blobs the second image's pull downloaded";
    static final String PODMAN_SECOND_BLOBS = "podman: blobs the second image's pull downloaded";
    static final String ISOLATED_SECOND_BASE = "Isolated: downloads of the shared base layer by the second pull";
    static final String PODMAN_SECOND_BASE = "podman: downloads of the shared base layer by the second pull";

    private static final int FIRST_RUNS = 5;
    private static final int SECOND_RUNS = 3;

    private final BenchContext ctx;
    private final List<Long> pullNanos = new ArrayList<>();
    private final List<Long> unpackNanos = new ArrayList<>();

    PullBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run() throws Exception {
        Results results = ctx.results();
        if (Processes.find("podman") == null
                || Processes.find("docker-registry") == null
                || Processes.find("skopeo") == null
                || !Files.isDirectory(DebianImages.ROOTFS_CACHE)) {
            results.note(
                    "Section 8 (pulls) skipped: it needs podman, docker-registry, skopeo and the Debian test images in "
                            + DebianImages.ROOTFS_CACHE + ", which .ci/install-deps installs and builds");
            return;
        }
        Path scratch = Files.createDirectories(ctx.workDir().resolve("pull"));
        try (DebianImages images = DebianImages.start(DebianImages.REDIS, DebianImages.POSTGRES)) {
            String redis = images.name(DebianImages.REDIS);
            String postgres = images.name(DebianImages.POSTGRES);
            PullSettings settings = PullSettings.from(
                    key -> key.equals(IsolatedConfiguration.REGISTRY_INSECURE)
                            ? Optional.of(images.host())
                            : Optional.empty(),
                    variable -> null);

            Map<String, TimedRun> first = new LinkedHashMap<>();
            first.put(
                    ISOLATED_FIRST,
                    new StoreRun(scratch, null, store -> isolatedPull(settings, store, redis, true), null));
            first.put(PODMAN_FIRST, new StoreRun(scratch, null, store -> podmanPull(store, redis), null));
            Map<String, Stats> stats = Sampler.interleaved(first, 1, FIRST_RUNS);
            results.add(Measurement.millis(
                    Section.PULL,
                    ISOLATED_FIRST,
                    Kind.ISOLATED,
                    stats.get(ISOLATED_FIRST),
                    "ImagePuller.pull + ImageCache.unpack into a fresh cache dir; "
                            + sizes(images, DebianImages.REDIS)));
            results.add(Measurement.millis(
                    Section.PULL,
                    PODMAN_FIRST,
                    Kind.ALTERNATIVE,
                    stats.get(PODMAN_FIRST),
                    "podman --root <fresh> --runroot <fresh> --storage-driver overlay pull --tls-verify=false "
                            + "(podman "
                            + Processes.outputOrEmpty("podman", "--version").replace("podman version ", "") + ")"));
            // The parts, without the warm-up run's.
            results.add(Measurement.millis(
                    Section.PULL,
                    ISOLATED_FIRST_PULL,
                    Kind.DETAIL,
                    Stats.ofNanos(pullNanos.subList(1, pullNanos.size()).stream()
                            .mapToLong(Long::longValue)
                            .toArray()),
                    "the runs above"));
            results.add(Measurement.millis(
                    Section.PULL,
                    ISOLATED_FIRST_UNPACK,
                    Kind.DETAIL,
                    Stats.ofNanos(unpackNanos.subList(1, unpackNanos.size()).stream()
                            .mapToLong(Long::longValue)
                            .toArray()),
                    "the runs above"));

            // Each run's downloads of the second image's blobs: {all (config + both layers), the base layer}.
            List<long[]> isolatedBlobs = new ArrayList<>();
            List<long[]> podmanBlobs = new ArrayList<>();
            Map<String, TimedRun> second = new LinkedHashMap<>();
            second.put(
                    ISOLATED_SECOND,
                    new StoreRun(
                            scratch,
                            store -> isolatedPull(settings, store, redis, false),
                            store -> isolatedPull(settings, store, postgres, false),
                            new BlobCounter(images, isolatedBlobs)));
            second.put(
                    PODMAN_SECOND,
                    new StoreRun(
                            scratch,
                            store -> podmanPull(store, redis),
                            store -> podmanPull(store, postgres),
                            new BlobCounter(images, podmanBlobs)));
            stats = Sampler.interleaved(second, 0, SECOND_RUNS);
            results.add(Measurement.millis(
                    Section.PULL,
                    ISOLATED_SECOND,
                    Kind.ISOLATED,
                    stats.get(ISOLATED_SECOND),
                    "as above, into a store that holds the redis image; " + sizes(images, DebianImages.POSTGRES)));
            results.add(Measurement.millis(
                    Section.PULL,
                    PODMAN_SECOND,
                    Kind.ALTERNATIVE,
                    stats.get(PODMAN_SECOND),
                    "as above, into a storage that holds the redis image"));
            results.add(count(ISOLATED_SECOND_BLOBS, Kind.ISOLATED, isolatedBlobs, 0, "blobs"));
            results.add(count(PODMAN_SECOND_BLOBS, Kind.DETAIL, podmanBlobs, 0, "blobs"));
            results.add(count(ISOLATED_SECOND_BASE, Kind.ISOLATED, isolatedBlobs, 1, "downloads"));
            results.add(count(PODMAN_SECOND_BASE, Kind.DETAIL, podmanBlobs, 1, "downloads"));
            results.note(
                    "Pulls (section 8): the second image, Debian + postgresql-15, has three blobs: a config, the base "
                            + "layer it shares with the redis image ("
                            + images.layers(DebianImages.POSTGRES)
                                    .get(0)
                                    .digest()
                                    .substring(0, 19)
                            + "...) and the postgresql layer. Pulled into a store that holds the redis image, "
                            + "each run downloaded (GETs answered 200, counted in the registry's log) "
                            + counts(isolatedBlobs, 0)
                            + " of them with Isolated, the base layer " + counts(isolatedBlobs, 1)
                            + " times; with podman "
                            + counts(podmanBlobs, 0) + ", the base layer " + counts(podmanBlobs, 1)
                            + " times. Isolated then "
                            + "unpacks the whole image (both layers) into a directory of its own; podman adds only the new layer "
                            + "to its overlay storage.");
        } finally {
            Trees.delete(scratch);
        }
    }

    private void isolatedPull(PullSettings settings, Path store, String name, boolean recordParts) {
        ImagePuller.forgetResolvedTags();
        long start = System.nanoTime();
        Path layout = new ImagePuller(store, settings).pull(name);
        long pulled = System.nanoTime();
        new ImageCache(store, new SafeTarUnpacker(UnpackLimits.defaults()), note -> {})
                .unpack(ImageSource.ofDirectory(layout));
        if (recordParts) {
            pullNanos.add(pulled - start);
            unpackNanos.add(System.nanoTime() - pulled);
        }
    }

    /**
     * {@code podman pull} into a storage of its own under {@code store}; its run root (at most 50 characters, podman
     * says) is {@code /tmp/isolated-bench-podman-<hash of store>}, removed with the store.
     */
    private static void podmanPull(Path store, String name) throws Exception {
        Path tmp = Files.createDirectories(store.resolve("tmp"));
        ProcessBuilder pull = new ProcessBuilder(
                        "podman",
                        "--root",
                        store.resolve("root").toString(),
                        "--runroot",
                        runRoot(store).toString(),
                        "--tmpdir",
                        tmp.toString(),
                        "--storage-driver",
                        "overlay",
                        "--events-backend",
                        "none",
                        "pull",
                        "-q",
                        "--tls-verify=false",
                        name)
                .redirectErrorStream(true);
        pull.environment().put("TMPDIR", tmp.toString());
        Process process = pull.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
            throw new IOException("podman pull " + name + " failed: " + output.strip());
        }
    }

    private static Path runRoot(Path store) {
        return Path.of(
                "/tmp",
                "isolated-bench-podman-" + Integer.toHexString(store.toString().hashCode()));
    }

    /** Unmounts whatever podman's overlay driver left mounted under {@code store} before it is deleted. */
    private static void unmountUnder(Path store) throws Exception {
        List<String> mounted = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String point = line.split(" ")[4];
            if (point.equals(store.toString()) || point.startsWith(store + "/")) {
                mounted.add(point);
            }
        }
        for (int i = mounted.size() - 1; i >= 0; i--) {
            Processes.run("umount", "-l", mounted.get(i));
        }
    }

    private static String sizes(DebianImages images, String image) {
        StringBuilder sb = new StringBuilder("layers (gzip) ");
        for (RootfsLayer.Written layer : images.layers(image)) {
            sb.append(sb.length() > 15 ? " + " : "").append(String.format(Locale.ROOT, "%.1f MB", layer.size() / 1e6));
        }
        return sb.toString();
    }

    /** The {@code which}th figure of every run (0: all blobs, 1: the base layer). */
    private static Measurement count(String name, Kind kind, List<long[]> runs, int which, String unit) {
        double[] values = runs.stream().mapToDouble(run -> run[which]).toArray();
        return new Measurement(
                Section.PULL,
                name,
                kind,
                Stats.of(values),
                unit,
                "per run: " + counts(runs, which)
                        + (which == 0
                                ? "; GETs of the config's and both layers' blobs"
                                : "; GETs of the base layer's blob")
                        + " answered 200, counted in the registry's log");
    }

    private static String counts(List<long[]> runs, int which) {
        return runs.stream().map(run -> Long.toString(run[which])).collect(java.util.stream.Collectors.joining(", "));
    }

    /**
     * A run with a fresh store: optionally a first image pulled into it untimed, then the timed pull, around which
     * {@code counted} counts the registry's answers; podman's leftover mounts are unmounted before the store is
     * deleted.
     */
    private static final class StoreRun implements TimedRun {
        private final Path parent;
        private final FreshDirRun.Work prepare;
        private final FreshDirRun.Work timed;
        private final BlobCounter counted;

        StoreRun(Path parent, FreshDirRun.Work prepare, FreshDirRun.Work timed, BlobCounter counted) {
            this.parent = parent;
            this.prepare = prepare;
            this.timed = timed;
            this.counted = counted;
        }

        @Override
        public long nanos() throws Exception {
            Path store = Files.createTempDirectory(parent, "run-");
            try {
                if (prepare != null) {
                    prepare.run(store);
                }
                long[] before = counted == null ? null : counted.count();
                long start = System.nanoTime();
                timed.run(store);
                long nanos = System.nanoTime() - start;
                if (counted != null) {
                    counted.recordSince(before);
                }
                return nanos;
            } finally {
                unmountUnder(store);
                unmountUnder(runRoot(store));
                Trees.delete(store);
                Trees.delete(runRoot(store));
            }
        }
    }

    /**
     * Counts the GETs of the postgresql image's blobs that the registry answered 200: all of them (config and both
     * layers) and the base layer's; records each run's difference.
     */
    private record BlobCounter(DebianImages images, List<long[]> runs) {

        long[] count() throws Exception {
            List<RootfsLayer.Written> layers = images.layers(DebianImages.POSTGRES);
            long base = gets(layers.get(0).digest());
            return new long[] {
                base + gets(layers.get(1).digest()) + gets(images.configDigest(DebianImages.POSTGRES)), base
            };
        }

        void recordSince(long[] before) throws Exception {
            long[] now = count();
            runs.add(new long[] {now[0] - before[0], now[1] - before[1]});
        }

        private long gets(String digest) throws Exception {
            return images.registry().requests("GET", "/v2/postgres/blobs/" + digest, 200);
        }
    }
}
