package dev.isolated.bench;

import dev.isolated.Command;
import dev.isolated.ExecResult;
import dev.isolated.FrozenState;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedProcess;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Section 7: a fresh environment from a frozen state against setting the same state up in every test. With
 * busybox, a state of {@value #FILES} files written by a shell loop; with a Debian + PostgreSQL rootfs (as
 * {@code .ci/install-deps} builds in {@value #TEST_IMAGES}), a cluster made by {@code initdb}: per test
 * {@code initdb} + start against a frozen state + start, each to a server that accepts connections.
 */
final class FrozenBench {
    static final int FILES = 1000;
    static final String TEST_IMAGES = "/var/cache/isolated-test-images";
    static final String FILES_FROZEN = "from a frozen state of " + FILES + " files: start + check + close";
    static final String FILES_SETUP = "the same state set up per test: start + write " + FILES + " files + check + close";
    static final String PG_FROZEN = "PostgreSQL from a frozen state (initdb done): start + postgres ready + close";
    static final String PG_INITDB = "PostgreSQL per test: start + initdb + postgres ready + close";

    /** The comparisons of the section: the frozen way ÷ the per-test setup. */
    static final List<Comparison> COMPARISONS = List.of(
            new Comparison(FILES_FROZEN, "frozen files", FILES_SETUP),
            new Comparison(PG_FROZEN, "frozen PostgreSQL", PG_INITDB));

    private static final String WRITE_FILES = "mkdir -p /data && i=0; while [ $i -lt " + FILES + " ]; do "
            + "echo $i > /data/f$i; i=$((i+1)); done";
    private static final String CHECK = "ls /data | wc -l";
    private static final String PG_BIN = "/usr/lib/postgresql/15/bin/";
    private static final String PG_DATA = "/var/lib/postgresql/bench";
    private static final Pattern PG_READY = Pattern.compile("database system is ready to accept connections");

    private final BenchContext ctx;

    FrozenBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run() throws Exception {
        Results results = ctx.results();
        int runs = Math.max(20, ctx.runs() / 5);
        FrozenState files;
        try (IsolatedEnvironment setup = IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            check(setup.exec("sh", "-c", WRITE_FILES));
            files = setup.freeze("bench");
        }
        Map<String, TimedRun> cases = new LinkedHashMap<>();
        cases.put(FILES_FROZEN, TimedRun.whole(() -> {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder().from(files).start()) {
                checkCount(env.exec("sh", "-c", CHECK));
            }
        }));
        cases.put(FILES_SETUP, TimedRun.whole(() -> {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                check(env.exec("sh", "-c", WRITE_FILES));
                checkCount(env.exec("sh", "-c", CHECK));
            }
        }));
        Sampler.interleaved(cases, ctx.warmup(), runs).forEach((name, s) -> results.add(Measurement.millis(
                Section.FROZEN, name, name.equals(FILES_FROZEN) ? Kind.ISOLATED : Kind.ALTERNATIVE, s,
                "busybox, a shell loop of `echo $i > /data/f$i`; both check `ls /data | wc -l`")));

        Optional<Path> postgres = postgresRootfs();
        if (postgres.isEmpty()) {
            results.note("No PostgreSQL rootfs in " + TEST_IMAGES + "/*/postgresql: the PostgreSQL comparison of "
                    + "frozen states was not measured.");
            return;
        }
        String rootfs = postgres.get().toString();
        FrozenState cluster;
        try (IsolatedEnvironment setup = IsolatedEnvironment.builder().rootfs(rootfs).start()) {
            initdb(setup);
            cluster = setup.freeze("bench");
        }
        Map<String, TimedRun> pg = new LinkedHashMap<>();
        pg.put(PG_FROZEN, TimedRun.whole(() -> {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder().from(cluster).start()) {
                startPostgres(env);
            }
        }));
        pg.put(PG_INITDB, TimedRun.whole(() -> {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder().rootfs(rootfs).start()) {
                initdb(env);
                startPostgres(env);
            }
        }));
        int pgRuns = Math.max(10, ctx.runs() / 15);
        Sampler.interleaved(pg, Math.max(3, pgRuns / 5), pgRuns).forEach((name, s) -> results.add(Measurement.millis(
                Section.FROZEN, name, name.equals(PG_FROZEN) ? Kind.ISOLATED : Kind.ALTERNATIVE, s,
                postgres.get() + ": initdb -N -A trust as postgres; postgres -D " + PG_DATA + " -k /tmp -h '' "
                        + "to its \"ready to accept connections\" line")));
    }

    private static void initdb(IsolatedEnvironment env) {
        check(env.exec("sh", "-c", "mkdir -p " + PG_DATA + " && chown postgres:postgres " + PG_DATA));
        check(env.exec(Command.of(PG_BIN + "initdb", "-N", "-A", "trust", "-U", "postgres", "-D", PG_DATA)
                .withUser(100, 102)));
    }

    private static void startPostgres(IsolatedEnvironment env) {
        IsolatedProcess server = env.start(Command.of(PG_BIN + "postgres", "-D", PG_DATA, "-k", "/tmp", "-h", "")
                .withUser(100, 102));
        server.awaitOutput(PG_READY);
    }

    /** @return the first {@code TEST_IMAGES/<name>/postgresql} rootfs with PostgreSQL 15 in it */
    static Optional<Path> postgresRootfs() throws IOException {
        Path base = Paths.get(TEST_IMAGES);
        if (!Files.isDirectory(base)) {
            return Optional.empty();
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base)) {
            for (Path dir : dirs) {
                Path rootfs = dir.resolve("postgresql");
                if (Files.isExecutable(rootfs.resolve(PG_BIN.substring(1) + "initdb"))) {
                    return Optional.of(rootfs);
                }
            }
        }
        return Optional.empty();
    }

    private static void check(ExecResult result) {
        if (result.exitCode() != 0) {
            throw new IllegalStateException("bench command failed: " + result);
        }
    }

    private static void checkCount(ExecResult result) {
        check(result);
        if (!result.stdout().strip().equals(Integer.toString(FILES))) {
            throw new IllegalStateException("expected " + FILES + " files, got " + result.stdout());
        }
    }

    /** Runs this section alone: {@code FrozenBench [runs]}; prints its table. */
    public static void main(String[] args) throws Exception {
        Results results = new Results();
        BenchContext ctx = new BenchContext(null, null, null, args.length > 0 ? Integer.parseInt(args[0]) : 300,
                null, null, results);
        new FrozenBench(ctx).run();
        System.out.println(new ReportWriter(results, List.of(), Machine.describe()).console());
    }
}
