package dev.isolated.bench;

import dev.isolated.internal.helper.SharedHelper;
import dev.isolated.internal.image.ImageCache;
import dev.isolated.internal.image.RootfsLocator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The bench of issue 6 (not a test): Isolated side by side with the other ways to run an isolated command
 * from a JVM. Run it with {@value ReportWriter#COMMAND}. Arguments: the output directory (default
 * {@code target/bench}), the directory the latest table and chart are copied to (optional), and the
 * number of runs of the millisecond-scale cases (default 300).
 */
public final class BenchMain {
    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        System.setProperty("java.awt.headless", "true");
        Path out = Files.createDirectories(Paths.get(args.length > 0 ? args[0] : "target/bench"));
        Path publish = args.length > 1 && !args[1].isBlank() ? Paths.get(args[1]) : null;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        long start = System.nanoTime();
        Machine machine = Machine.describe();
        System.out.println("Isolated bench on " + machine.oneLine() + "; " + runs + " runs per ms-scale case");

        Path work = Files.createTempDirectory(out, "work-");
        Results results = new Results();
        try {
            BenchContext ctx = new BenchContext(
                    unpackedBusybox(),
                    copyTar(work),
                    work,
                    runs,
                    NativeTimer.build(work),
                    SharedHelper.get().binary(),
                    results);
            // -Dbench.only=KEY[,KEY...]: only those sections (spawn, hardening, image, unpack, suite, memory, frozen,
            // pull, first, rootless, scale); empty: every section but scale (10,000 environments take far longer than
            // the rest).
            // unpack is the Debian + PostgreSQL part of image alone.
            Set<String> only = new HashSet<>(
                    Arrays.asList(System.getProperty("bench.only", "").split(",")));
            only.remove("");
            Set<String> known = Set.of(
                    "spawn",
                    "hardening",
                    "image",
                    "unpack",
                    "suite",
                    "memory",
                    "frozen",
                    "pull",
                    "first",
                    "rootless",
                    "scale");
            if (!known.containsAll(only)) {
                throw new IllegalArgumentException("bench.only=" + System.getProperty("bench.only")
                        + ": use a comma-separated list of " + new TreeSet<>(known));
            }
            Predicate<String> wanted = key -> only.isEmpty() ? !"scale".equals(key) : only.contains(key);
            if (wanted.test("spawn")) {
                section("1-3. one command, exec, create + close; unshare, bwrap; from the JVM and from C");
                new SpawnBench(ctx).run();
            }
            if (wanted.test("hardening")) {
                section("1b. what the hardened defaults cost (issue 11)");
                new HardeningBench(ctx).run();
            }
            if (wanted.test("image")) {
                section("4. the image");
                new ImageBench(ctx).run();
                new CowViewBench(ctx).run();
            }
            if (wanted.test("image") || wanted.test("unpack")) {
                section("4b. the first unpack of a Debian + PostgreSQL image (issue 14)");
                new DebianUnpackBench(ctx).run();
            }
            if (wanted.test("suite")) {
                section("5. 100 tests through the JUnit Platform");
                new SuiteBench(ctx).run();
            }
            if (wanted.test("memory")) {
                section("6. memory, 200 environments");
                new MemoryBench(ctx).run();
            }
            if (wanted.test("scale")) {
                section("6b. " + ScaleBench.ENVIRONMENTS + " environments at once (issue 14)");
                new ScaleBench(ctx).run();
            }
            if (wanted.test("frozen")) {
                section("7. frozen states against the same state set up per test");
                new FrozenBench(ctx).run();
            }
            if (wanted.test("pull")) {
                section("8. images by name: a Debian image from a local registry, Isolated and podman");
                new PullBench(ctx).run();
            }
            if (wanted.test("first")) {
                section("9. the first test in a fresh JVM");
                new FirstTestBench(ctx).run();
            }
            if (wanted.test("rootless")) {
                section("10. rootless: exec and one-shot as uid 65534");
                new RootlessBench(ctx).run();
            }
        } finally {
            Trees.delete(work);
        }

        List<Target> targets = new Targets(results).judge();
        ReportWriter report = new ReportWriter(results, targets, machine);
        System.out.println(report.console());
        report.writeCsv(out);
        Files.writeString(out.resolve("LATEST.md"), report.markdown("bench.png"), StandardCharsets.UTF_8);
        Files.writeString(
                out.resolve("README-section.md"),
                report.readmeSection("bench/bench-results/bench.png"),
                StandardCharsets.UTF_8);
        long met = targets.stream().filter(t -> Boolean.TRUE.equals(t.met())).count();
        new BarChart(
                        ChartGroup.of(results),
                        "Isolated vs. the other ways to run an isolated command from a test",
                        machine.oneLine() + ", " + machine.cpuModel(),
                        footer(results, met, targets.size()))
                .write(out.resolve("bench.png"));
        if (publish != null) {
            Files.createDirectories(publish);
            for (String file : List.of("LATEST.md", "bench.png", "results.csv", "ratios.csv", "README-section.md")) {
                Files.copy(out.resolve(file), publish.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        System.out.printf(
                Locale.ROOT,
                "%nWrote %s (results.csv, ratios.csv, LATEST.md, README-section.md, bench.png)%s" + " in %.0f s%n",
                out.toAbsolutePath(),
                publish == null ? "" : "; copied to " + publish.toAbsolutePath(),
                (System.nanoTime() - start) / 1e9);
    }

    private static void section(String title) {
        System.out.println("\n" + title);
    }

    private static String footer(Results results, long met, int targets) {
        StringBuilder sb = new StringBuilder();
        results.find(MemoryBench.IDLE_PSS)
                .ifPresent(m -> sb.append("Idle environment: ")
                        .append(Format.number(m.stats().median()))
                        .append(" KiB of host memory (Pss). "));
        results.find(MemoryBench.OPEN_ALL)
                .ifPresent(m -> sb.append("200 environments open at once: ")
                        .append(LogAxis.milliseconds(m.stats().median()))
                        .append(" to open, "));
        results.find(MemoryBench.FAILURES)
                .ifPresent(m -> sb.append(Format.number(m.stats().median()).replace(".000", ""))
                        .append(" failures. "));
        return sb.append("Targets of issues 6, 12 and 14 met: ")
                .append(met)
                .append(" of ")
                .append(targets)
                .append('.')
                .toString();
    }

    private static Path unpackedBusybox() {
        return ImageCache.atDefaultLocation(note -> {})
                .rootfsFor(new RootfsLocator(BenchMain.class.getClassLoader(), Paths.get("")).locate("busybox.tar"));
    }

    private static Path copyTar(Path work) throws IOException {
        Path tar = work.resolve("busybox.tar");
        try (InputStream in = BenchMain.class.getClassLoader().getResourceAsStream("busybox.tar")) {
            if (in == null) {
                throw new IOException("busybox.tar is not on the class path: add the test dependency "
                        + "dev.isolated:isolated-images");
            }
            Files.copy(in, tar);
        }
        return tar;
    }
}
