package dev.isolated.bench;

import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.internal.helper.SharedHelper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * Section 6b (issue 14): 10,000 environments open at once in this JVM, with the default namespaces (so each has a
 * NET and a user namespace of its own), a command in each, then all closed. Reports failures (the target: none),
 * the time of each phase, the helper's open fds per environment, and what an idle environment costs the host:
 * the drop of {@code MemAvailable} in /proc/meminfo (user pages, page tables, the kernel's namespaces, mounts and
 * tmpfs, everything; noisy on a shared machine) and the Pss of the helper plus the inits (user pages only; the
 * inits' Pss sampled on 200 of them). After closing it checks that the helper's fds and the host's processes are
 * back where they were. Opens, runs and closes from {@value #THREADS} threads: the helper pipelines the CREATEs
 * (each init builds its root while the helper serves the next request).
 */
final class ScaleBench {
    static final int ENVIRONMENTS = Integer.getInteger("bench.scale", 10_000);
    static final int THREADS = 8;
    private static final int PSS_SAMPLE = 200;
    static final String OPEN_ALL = "Isolated: open " + ENVIRONMENTS + " environments at once, total";
    static final String EXEC_ALL = "Isolated: one command in each of the " + ENVIRONMENTS + ", total";
    static final String CLOSE_ALL = "Isolated: close the " + ENVIRONMENTS + ", total";
    static final String FAILURES = "failures among the " + ENVIRONMENTS + " (open + command)";
    static final String MEM_AVAILABLE = "idle environment at " + ENVIRONMENTS + ": host MemAvailable drop / env";
    static final String PSS = "idle environment at " + ENVIRONMENTS + ": (helper + inits) Pss growth / env";
    static final String FDS = "helper fds per open environment";
    static final String LEFT = "helper fds and host processes left after closing all";

    private final BenchContext ctx;

    ScaleBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run() throws Exception {
        Results results = ctx.results();
        try (IsolatedEnvironment warm = SpawnBench.environment().start()) {
            warm.exec("/bin/true");
        }
        long helper = SharedHelper.get().pid();
        System.gc();
        long availableBefore = memAvailableKib();
        long helperPssBefore = ProcMemory.pssKib(helper);
        int fdsBefore = fds(helper);
        int processesBefore = processCount();
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        IsolatedEnvironment[] open = new IsolatedEnvironment[ENVIRONMENTS];
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            double openAll = inParallel(pool, i -> {
                try {
                    open[i] = SpawnBench.environment().start();
                } catch (RuntimeException e) {
                    failures.add("open #" + i + ": " + e.getMessage());
                }
                return null;
            });
            double execAll = inParallel(pool, i -> {
                if (open[i] != null) {
                    try {
                        ExecResult r = open[i].exec("/bin/true");
                        if (r.exitCode() != 0) {
                            failures.add("command #" + i + ": exit " + r.exitCode() + " " + r.stderr());
                        }
                    } catch (RuntimeException e) {
                        failures.add("command #" + i + ": " + e.getMessage());
                    }
                }
                return null;
            });
            Thread.sleep(1000); // the inits settle into their idle loop
            int opened =
                    (int) java.util.Arrays.stream(open).filter(e -> e != null).count();
            int perEnvFds = fds(helper) - fdsBefore;
            long availableDrop = availableBefore - memAvailableKib();
            long helperPss = ProcMemory.pssKib(helper);
            double[] initPss = new double[Math.min(PSS_SAMPLE, opened)];
            for (int i = 0, k = 0; i < ENVIRONMENTS && k < initPss.length; i++) {
                if (open[i] != null) {
                    initPss[k++] = ProcMemory.pssKib(open[i].initHostPid());
                }
            }
            double meanInitPss = java.util.Arrays.stream(initPss).average().orElse(0);
            double pssPerEnv = (helperPss - helperPssBefore + meanInitPss * opened) / Math.max(1, opened);
            double closeAll = inParallel(pool, i -> {
                if (open[i] != null) {
                    open[i].close();
                }
                return null;
            });
            Thread.sleep(1000); // the last inits' exits are reaped
            int fdsLeft = fds(helper) - fdsBefore;
            int processesLeft = processCount() - processesBefore;

            String each = String.format(
                    Locale.ROOT,
                    "%d threads; default namespaces (PID MOUNT UTS IPC NET CGROUP + " + "user), default seccomp",
                    THREADS);
            results.add(Measurement.millis(
                    Section.MEMORY,
                    OPEN_ALL,
                    Kind.ISOLATED,
                    Stats.of(new double[] {openAll}),
                    each + String.format(Locale.ROOT, "; %.2f ms per environment", openAll / ENVIRONMENTS)));
            results.add(Measurement.millis(
                    Section.MEMORY,
                    EXEC_ALL,
                    Kind.DETAIL,
                    Stats.of(new double[] {execAll}),
                    String.format(
                            Locale.ROOT,
                            "/bin/true in each, all %d open; %.2f ms per command",
                            opened,
                            execAll / ENVIRONMENTS)));
            results.add(Measurement.millis(
                    Section.MEMORY,
                    CLOSE_ALL,
                    Kind.DETAIL,
                    Stats.of(new double[] {closeAll}),
                    String.format(Locale.ROOT, "%.2f ms per environment", closeAll / ENVIRONMENTS)));
            results.add(count(
                    FAILURES,
                    failures.size(),
                    failures.isEmpty()
                            ? "all opened and ran /bin/true"
                            : failures.size() + ", first: " + failures.get(0)));
            results.add(new Measurement(
                    Section.MEMORY,
                    FDS,
                    Kind.DETAIL,
                    Stats.of(new double[] {(double) perEnvFds / Math.max(1, opened)}),
                    "fds",
                    perEnvFds + " more in /proc/<helper>/fd with " + opened
                            + " open (as root the id range locks are the lock keeper's, not the helper's)"));
            results.add(new Measurement(
                    Section.MEMORY,
                    MEM_AVAILABLE,
                    Kind.DETAIL,
                    Stats.of(new double[] {(double) availableDrop / Math.max(1, opened)}),
                    "KiB",
                    "everything the host spent, kernel included; other work on the host moves it"));
            results.add(new Measurement(
                    Section.MEMORY,
                    PSS,
                    Kind.DETAIL,
                    Stats.of(new double[] {pssPerEnv}),
                    "KiB",
                    "user pages only: helper growth + mean init Pss of " + initPss.length + " × " + opened));
            results.add(count(
                    LEFT,
                    Math.max(0, fdsLeft) + Math.max(0, processesLeft),
                    "fds " + fdsLeft + ", processes " + processesLeft + " (other work on the host moves the latter)"));
            System.out.printf(
                    Locale.ROOT,
                    "  %d environments: open %.1f s, commands %.1f s, close %.1f s, %d failures,"
                            + " %d helper fds, MemAvailable -%d KiB (%.0f KiB/env), Pss %.0f KiB/env, left: %d fds %d processes%n",
                    ENVIRONMENTS,
                    openAll / 1000,
                    execAll / 1000,
                    closeAll / 1000,
                    failures.size(),
                    perEnvFds,
                    availableDrop,
                    (double) availableDrop / Math.max(1, opened),
                    pssPerEnv,
                    fdsLeft,
                    processesLeft);
            for (String failure : failures.subList(0, Math.min(5, failures.size()))) {
                System.out.println("    " + failure);
            }
        } finally {
            pool.shutdownNow();
            for (IsolatedEnvironment env : open) {
                if (env != null) {
                    env.close();
                }
            }
        }
    }

    /** Runs {@code task} for 0..ENVIRONMENTS-1 spread over the pool; returns the wall time in ms. */
    private static double inParallel(ExecutorService pool, IntFunction<Void> task) throws Exception {
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            workers.add(pool.submit(() -> {
                for (int i; (i = next.getAndIncrement()) < ENVIRONMENTS; ) {
                    task.apply(i);
                    if ((i + 1) % 1000 == 0) { // progress: the phases take minutes on a loaded 2-core machine
                        System.out.printf(Locale.ROOT, "    %d at %.1f s%n", i + 1, (System.nanoTime() - start) / 1e9);
                    }
                }
            }));
        }
        for (Future<?> w : workers) {
            w.get();
        }
        return (System.nanoTime() - start) / 1e6;
    }

    private static Measurement count(String name, int n, String note) {
        return new Measurement(
                Section.MEMORY, name, n == 0 ? Kind.ISOLATED : Kind.DETAIL, new Stats(1, n, n, n), "count", note);
    }

    private static int fds(long pid) throws IOException {
        try (var list = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return (int) list.count();
        }
    }

    private static int processCount() throws IOException {
        try (var list = Files.list(Path.of("/proc"))) {
            return (int) list.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                    .count();
        }
    }

    private static long memAvailableKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemAvailable:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        throw new IOException("no MemAvailable in /proc/meminfo");
    }
}
