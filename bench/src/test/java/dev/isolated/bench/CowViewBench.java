package dev.isolated.bench;

import dev.isolated.internal.helper.HelperConnection;
import dev.isolated.internal.helper.SharedHelper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Section 4, the per-environment copy-on-write view. The public API cannot create an environment without
 * one, so its cost is derived two ways: create + close with {@code rootfs-mode=overlay} against
 * {@code rootfs-mode=copy} (what the overlay saves over copying the image), and the time of the syscalls
 * that make the overlay (mkdir upper and work, chmod, mount overlay) in each environment's init, from
 * strace (an upper bound: strace's stops are included).
 */
final class CowViewBench {
    static final String RAW_OVERLAY = "raw protocol CREATE + CLOSE, rootfs-mode=overlay";
    static final String RAW_COPY = "raw protocol CREATE + CLOSE, rootfs-mode=copy (a copy of the image per env)";
    static final String COW_VIEW = "Isolated: copy-on-write view (mkdir upper+work, mount overlay; strace -T)";
    static final String ROOT_SYSCALLS = "  all mount/mkdir/chmod/pivot_root syscalls of an init (strace -T)";

    private static final Pattern LINE = Pattern.compile("^(\\d+)\\s+(\\w+)\\(\"([^\"]*)\"");

    private final BenchContext ctx;

    CowViewBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run() throws Exception {
        Results results = ctx.results();
        HelperConnection helper = SharedHelper.get();
        Path rootfs = ctx.rootfs();
        Map<String, TimedRun> cases = new LinkedHashMap<>();
        cases.put(RAW_OVERLAY, TimedRun.whole(() -> RawEnvironment.createAndClose(helper, rootfs, "overlay")));
        cases.put(RAW_COPY, TimedRun.whole(() -> RawEnvironment.createAndClose(helper, rootfs, "copy")));
        Sampler.interleaved(cases, ctx.warmup(), Math.max(100, ctx.runs() / 2))
                .forEach((name, s) -> results.add(Measurement.millis(
                        Section.IMAGE, name, Kind.DETAIL, s, "frames straight to the helper, no Environment object")));
        traced(helper, rootfs, results);
    }

    private void traced(HelperConnection helper, Path rootfs, Results results) throws Exception {
        List<String> lines;
        try (SyscallTrace trace = SyscallTrace.attach(
                helper.pid(), "mount,mkdir,chmod,pivot_root", ctx.workDir().resolve("strace-overlay.log"))) {
            if (trace == null) {
                results.note("strace not found: the copy-on-write view's own cost is not derived");
                return;
            }
            for (int i = 0; i < 100; i++) {
                RawEnvironment.createAndClose(helper, rootfs, "overlay");
            }
            lines = trace.finish();
        }
        Map<String, double[]> perInit = new HashMap<>(); // pid -> {overlay part, all traced, overlay parts seen}
        for (String line : lines) {
            Matcher m = LINE.matcher(line);
            double ms = SyscallTrace.millis(line);
            if (!m.find() || Double.isNaN(ms) || m.group(1).equals(Long.toString(helper.pid()))) {
                continue;
            }
            double[] sums = perInit.computeIfAbsent(m.group(1), pid -> new double[3]);
            sums[1] += ms;
            if (isOverlayPart(m.group(2), m.group(3))) {
                sums[0] += ms;
                sums[2]++;
            }
        }
        List<Double> view = new ArrayList<>();
        List<Double> all = new ArrayList<>();
        for (double[] sums : perInit.values()) {
            if (sums[2] == 4) {
                view.add(sums[0]);
                all.add(sums[1]);
            }
        }
        if (view.size() < 50) {
            results.note("strace saw the overlay syscalls of only " + view.size() + " environments; see "
                    + ctx.workDir().resolve("strace-overlay.log"));
            if (view.isEmpty()) {
                return;
            }
        }
        results.add(Measurement.millis(
                Section.IMAGE,
                COW_VIEW,
                Kind.ISOLATED,
                Stats.of(unbox(view)),
                "derived: sum of those syscalls' times per init; strace stops included, so an upper bound; "
                        + "the overlay's unmount happens in the kernel when the init's mount namespace dies"));
        results.add(Measurement.millis(
                Section.IMAGE,
                ROOT_SYSCALLS,
                Kind.DETAIL,
                Stats.of(unbox(all)),
                "scratch tmpfs, overlay, /dev, /proc, /tmp, pivot_root and their mkdirs"));
    }

    private static boolean isOverlayPart(String syscall, String path) {
        return switch (syscall) {
            case "mkdir" -> path.endsWith("/upper") || path.endsWith("/work");
            case "chmod" -> path.endsWith("/upper");
            case "mount" -> path.equals("overlay");
            default -> false;
        };
    }

    private static double[] unbox(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
