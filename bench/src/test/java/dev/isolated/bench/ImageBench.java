package dev.isolated.bench;

import dev.isolated.internal.image.ImageCache;
import dev.isolated.internal.image.ImageSource;
import dev.isolated.internal.image.RootfsLocator;
import dev.isolated.internal.image.SafeTarUnpacker;
import dev.isolated.internal.image.UnpackLimits;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Section 4, the image: the first unpack of busybox.tar against {@code tar -xf} of the same file (spawned
 * from the JVM directly, through {@code /bin/sh -c}, and from the C loop), and a cached start.
 */
final class ImageBench {
    static final String FIRST_UNPACK = "Isolated: first unpack (ImageCache.rootfsFor, fresh cache dir)";
    static final String UNPACK_ONLY = "  of which SafeTarUnpacker.unpack alone (no digest, no rename)";
    static final String TAR_JVM = "tar -xf, spawned from the JVM (ProcessBuilder)";
    static final String TAR_SH = "tar -xf, spawned from the JVM through /bin/sh -c";
    static final String TAR_C = "tar -xf, timed by the C loop (spawned from the JVM)";
    static final String UNPACK_TMPFS = "  first unpack into tmpfs (/dev/shm): the unpacker's CPU cost";
    static final String TAR_C_TMPFS = "  tar -xf into tmpfs (/dev/shm), timed by the C loop";
    static final String CACHED = "Isolated: cached start (locate + rootfsFor, image already unpacked)";

    private final BenchContext ctx;

    ImageBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run() throws Exception {
        Results results = ctx.results();
        Path tar = ctx.busyboxTar();
        Path scratch = Files.createDirectories(ctx.workDir().resolve("unpack"));
        RootfsLocator locator = new RootfsLocator(getClass().getClassLoader(), Paths.get(""));
        ImageSource source = locator.locate("busybox.tar");
        SafeTarUnpacker unpacker = new SafeTarUnpacker(UnpackLimits.defaults());
        int runs = 100; // 100-ms scale on a disk; more would take minutes

        Map<String, TimedRun> cases = new LinkedHashMap<>();
        cases.put(
                FIRST_UNPACK,
                new FreshDirRun(scratch, fresh -> new ImageCache(fresh, unpacker, note -> {}).rootfsFor(source)));
        cases.put(UNPACK_ONLY, new FreshDirRun(scratch, fresh -> {
            try (InputStream in = Files.newInputStream(tar)) {
                unpacker.unpack(in, "busybox.tar", fresh);
            }
        }));
        cases.put(
                TAR_JVM,
                new FreshDirRun(scratch, fresh -> Processes.run("tar", "-xf", tar.toString(), "-C", fresh.toString())));
        cases.put(
                TAR_SH,
                new FreshDirRun(
                        scratch, fresh -> Processes.run("/bin/sh", "-c", "tar -xf '" + tar + "' -C '" + fresh + "'")));
        Map<String, Stats> stats = Sampler.interleaved(cases, 10, runs);
        stats.forEach(
                (name, s) -> results.add(Measurement.millis(Section.IMAGE, name, kindOf(name), s, noteFor(name))));
        if (ctx.timer() != null) {
            results.add(Measurement.millis(
                    Section.IMAGE,
                    TAR_C,
                    Kind.ALTERNATIVE,
                    ctx.timer()
                            .time(
                                    runs,
                                    10,
                                    scratch,
                                    Processes.find("tar").toString(),
                                    "-xf",
                                    tar.toString(),
                                    "-C",
                                    NativeTimer.FRESH_DIR),
                    "fork + exec + waitpid of tar, clock_gettime around it"));
        }

        tmpfs(source, unpacker, tar, runs);

        ImageCache cache = ImageCache.atDefaultLocation(note -> {});
        cache.rootfsFor(locator.locate("busybox.tar"));
        results.add(Measurement.millis(
                Section.IMAGE,
                CACHED,
                Kind.ISOLATED,
                Sampler.single(
                        TimedRun.whole(() -> cache.rootfsFor(locator.locate("busybox.tar"))), 200, 20 * ctx.runs()),
                "what a new JVM pays before its first environment (after that RootfsImages remembers the path)"));
        Trees.delete(scratch);
    }

    // The same on a tmpfs: without the disk's cost of creating inodes, what is left is each tool's own work.
    private void tmpfs(ImageSource source, SafeTarUnpacker unpacker, Path tar, int runs) throws Exception {
        Path shm = Paths.get("/dev/shm");
        if (!Files.isDirectory(shm) || ctx.timer() == null) {
            return;
        }
        Path scratch = Files.createTempDirectory(shm, "isolated-bench-");
        try {
            ctx.results()
                    .add(Measurement.millis(
                            Section.IMAGE,
                            UNPACK_TMPFS,
                            Kind.ISOLATED,
                            Sampler.single(
                                    new FreshDirRun(
                                            scratch,
                                            fresh -> new ImageCache(fresh, unpacker, note -> {}).rootfsFor(source)),
                                    10,
                                    runs),
                            "as the first line, into a tmpfs"));
            ctx.results()
                    .add(Measurement.millis(
                            Section.IMAGE,
                            TAR_C_TMPFS,
                            Kind.ALTERNATIVE,
                            ctx.timer()
                                    .time(
                                            runs,
                                            10,
                                            scratch,
                                            Processes.find("tar").toString(),
                                            "-xf",
                                            tar.toString(),
                                            "-C",
                                            NativeTimer.FRESH_DIR),
                            "as the C loop line, into a tmpfs"));
        } finally {
            Trees.delete(scratch);
        }
    }

    private static Kind kindOf(String name) {
        return name.equals(FIRST_UNPACK) ? Kind.ISOLATED : name.equals(UNPACK_ONLY) ? Kind.DETAIL : Kind.ALTERNATIVE;
    }

    private static String noteFor(String name) {
        return switch (name) {
            case FIRST_UNPACK -> "digest + safe unpack into a temp dir + rename + marker";
            case UNPACK_ONLY -> "the tar walk and file writes only";
            case TAR_JVM -> "GNU tar, the baseline of the target";
            case TAR_SH -> "one more exec (sh) than the line above";
            default -> "";
        };
    }
}
