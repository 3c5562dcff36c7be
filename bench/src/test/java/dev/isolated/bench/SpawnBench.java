package dev.isolated.bench;

import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedEnvironmentBuilder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sections 1 to 3 of the issue: a one-shot environment running {@code /bin/true}, a command in a running
 * environment, create + close; side by side with the floor, unshare and bubblewrap, each spawned from this
 * JVM and, again, from a C loop.
 */
final class SpawnBench {
    static final String ONE_SHOT = "Isolated: fresh environment + /bin/true + close (one-shot)";
    static final String EXEC = "Isolated: /bin/true in a running environment (exec)";
    static final String CREATE_CLOSE = "Isolated: create + close, no command";
    static final String HELPER_CLI = "C loop → isolated-helper run (the helper's CLI: its start-up included)";
    static final String C_FLOOR = "C loop → /bin/true, no isolation (the floor)";
    static final String C_UNSHARE = "C loop → " + Alternatives.UNSHARE;
    static final String C_BWRAP = "C loop → " + Alternatives.BWRAP;

    private final BenchContext ctx;

    SpawnBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    /**
     * @return a builder for the environment of the one-shot case: busybox with today's defaults (PID, MOUNT, UTS,
     *     IPC, NET, CGROUP, the user namespace, the built-in seccomp filter), which is what users get
     */
    static IsolatedEnvironmentBuilder environment() {
        return HardeningBench.defaults();
    }

    void run() throws Exception {
        fromJvm();
        fromC();
    }

    private void fromJvm() throws Exception {
        Results results = ctx.results();
        Map<String, TimedRun> cases = new LinkedHashMap<>();
        cases.put(ONE_SHOT, TimedRun.whole(() -> {
            try (IsolatedEnvironment env = environment().start()) {
                check(env.exec("/bin/true"));
            }
        }));
        try (IsolatedEnvironment running = environment().start()) {
            cases.put(EXEC, TimedRun.whole(() -> check(running.exec("/bin/true"))));
            cases.put(CREATE_CLOSE, TimedRun.whole(() -> environment().start().close()));
            cases.put(Alternatives.FLOOR, TimedRun.whole(() -> Processes.run("/bin/true")));
            String[] unshare = Alternatives.unshare(ctx.rootfs());
            if (unshare != null) {
                cases.put(Alternatives.UNSHARE, TimedRun.whole(() -> Processes.run(unshare)));
            } else {
                results.note("util-linux unshare or chroot not found: that comparison is skipped");
            }
            String[] bwrap = Alternatives.bwrap(ctx.rootfs());
            if (bwrap != null) {
                cases.put(Alternatives.BWRAP, TimedRun.whole(() -> Processes.run(bwrap)));
            } else {
                results.note(
                        "bubblewrap (bwrap) not installed (apt-get install bubblewrap): that comparison is skipped");
            }
            Map<String, Stats> stats = Sampler.interleaved(cases, ctx.warmup(), ctx.runs());
            stats.forEach((name, s) -> results.add(Measurement.millis(
                    Section.ONE_COMMAND,
                    name,
                    name.startsWith("Isolated") ? Kind.ISOLATED : Kind.ALTERNATIVE,
                    s,
                    noteFor(name))));
        }
        results.note(
                "Testcontainers skipped: it needs a Docker engine and this machine has none. Its figures below are "
                        + "quoted from performance-anchors.md (2-vCPU Debian 12 VM, Docker 20.10), not measured here.");
        results.add(Measurement.millis(
                Section.ONE_COMMAND,
                Anchors.TC_EXEC,
                Kind.ANCHOR,
                Stats.quoted(150),
                "anchor, not measured here: execInContainer on a running container"));
        results.add(Measurement.millis(
                Section.ONE_COMMAND,
                Anchors.TC_ONE_SHOT,
                Kind.ANCHOR,
                Stats.quoted(1175),
                "anchor, not measured here: sum of its start, exec and stop figures"));
    }

    private static String noteFor(String name) {
        return switch (name) {
            case ONE_SHOT ->
                "public API with today's defaults: builder().rootfs(\"busybox.tar\").start(), exec, close; "
                        + "PID MOUNT UTS IPC NET CGROUP + USER, seccomp DEFAULT, own cgroup, overlay root, /proc, /dev";
            case EXEC -> "one more command in an environment (today's defaults) that stays open";
            case CREATE_CLOSE -> "builder().rootfs(\"busybox.tar\").start().close(), today's defaults";
            case Alternatives.FLOOR -> "JDK default launch mechanism (posix_spawn through jspawnhelper)";
            case Alternatives.UNSHARE -> "no /dev, lo down, chroot (not pivot_root), no copy-on-write";
            case Alternatives.BWRAP ->
                "read-only bind of the rootfs (no copy-on-write), /proc, /dev, tmpfs /tmp, +USER";
            default -> "";
        };
    }

    private void fromC() throws Exception {
        NativeTimer timer = ctx.timer();
        Results results = ctx.results();
        if (timer == null) {
            results.note("gcc not found: the C fork/exec loop is skipped");
            return;
        }
        int runs = ctx.runs();
        results.add(Measurement.millis(
                Section.FROM_C,
                HELPER_CLI,
                Kind.ISOLATED,
                timer.time(runs, ctx.warmup(), null, Alternatives.helperRun(ctx.helperBinary(), ctx.rootfs())),
                "a fresh helper per command: its start-up, the environment, /bin/true"));
        results.add(Measurement.millis(
                Section.FROM_C,
                C_FLOOR,
                Kind.ALTERNATIVE,
                timer.time(runs, ctx.warmup(), null, "/bin/true"),
                "fork + exec + waitpid from C"));
        String[] unshare = Alternatives.unshare(ctx.rootfs());
        if (unshare != null) {
            results.add(Measurement.millis(
                    Section.FROM_C, C_UNSHARE, Kind.ALTERNATIVE, timer.time(runs, ctx.warmup(), null, unshare), ""));
        }
        String[] bwrap = Alternatives.bwrap(ctx.rootfs());
        if (bwrap != null) {
            results.add(Measurement.millis(
                    Section.FROM_C, C_BWRAP, Kind.ALTERNATIVE, timer.time(runs, ctx.warmup(), null, bwrap), ""));
        }
    }

    private static void check(ExecResult result) {
        if (result.exitCode() != 0) {
            throw new IllegalStateException(
                    result.command() + " exited with " + result.exitCode() + ": " + result.stderr());
        }
    }
}
