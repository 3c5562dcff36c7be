package dev.isolated.bench;

import dev.isolated.Command;
import dev.isolated.EnvironmentPool;
import dev.isolated.ExecResult;
import dev.isolated.FrozenState;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedProcess;
import dev.isolated.Wait;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Section 7: a fresh environment from a frozen state against setting the same state up in every test. With
 * busybox, a state of {@value #FILES} files written by a shell loop; with a Debian + PostgreSQL rootfs (as
 * {@code .ci/install-deps} builds in {@value #TEST_IMAGES}), a cluster made by {@code initdb}: per test
 * {@code initdb} + start against a frozen state + start, each to a connection from the JVM through
 * {@code mappedPort(5432)} (the protocol's startup handshake up to ReadyForQuery, as a JDBC driver's
 * {@code getConnection} makes it: {@link PgHandshake}, so the extension's tests need no driver); then where a
 * frozen start's time goes (phases timed one by one).
 */
final class FrozenBench {
    static final int FILES = 1000;
    static final String TEST_IMAGES = "/var/cache/isolated-test-images";
    static final String FILES_FROZEN = "from a frozen state of " + FILES + " files: start + check + close";
    static final String FILES_SETUP =
            "the same state set up per test: start + write " + FILES + " files + check + close";
    static final String PG_FROZEN =
            "PostgreSQL from a frozen state (initdb done): start + postgres + connection + close";
    static final String PG_FROZEN_FAST =
            "the same, fsync, full_page_writes, synchronous_commit off, shared_buffers=16MB";
    static final String PG_INITDB = "PostgreSQL per test: start + initdb + postgres + connection + close";
    static final String PG_INITDB_QUOTED =
            "Isolated, PostgreSQL per test with initdb, to a JDBC connection [measured before]";
    static final String PG_TC = "Testcontainers: PostgreSQL per test, to a JDBC connection [anchor]";
    static final int SEQUENCE = 10;
    static final int POOL_READY = 2;
    static final String SEQ_FROZEN = "from a frozen state, " + SEQUENCE + " tests in a row: start + postgres "
            + "(Wait.forLogLine) + connection + query + close, per test";
    static final String SEQ_FROZEN_POLLED =
            "the same, the ready line found by a scan of the output every 50 ms " + "(forLogLine before)";
    static final String SEQ_POOL = "from an EnvironmentPool of " + POOL_READY + " started from the frozen state "
            + "(ready: a connection works), " + SEQUENCE
            + " tests in a row: take + connection + query + close, per test";
    static final String SEQ_FROZEN_CONNECTED = "from a frozen state, in those tests: start to a connection";
    static final String SEQ_POOL_CONNECTED = "from the EnvironmentPool, in those tests: take to a connection";

    /** The comparisons of the section: the frozen way ÷ the per-test setup. */
    static final List<Comparison> COMPARISONS = List.of(
            new Comparison(FILES_FROZEN, "frozen files", FILES_SETUP),
            new Comparison(PG_FROZEN, "frozen PostgreSQL", PG_INITDB),
            new Comparison(PG_FROZEN, "frozen PostgreSQL", PG_INITDB_QUOTED),
            new Comparison(PG_FROZEN, "frozen PostgreSQL", PG_TC),
            new Comparison(SEQ_POOL, "pooled PostgreSQL", SEQ_FROZEN),
            new Comparison(SEQ_FROZEN, "frozen PostgreSQL", SEQ_FROZEN_POLLED),
            new Comparison(SEQ_POOL_CONNECTED, "pooled PostgreSQL", PG_TC),
            new Comparison(SEQ_FROZEN_CONNECTED, "frozen PostgreSQL", PG_TC));

    private static final String WRITE_FILES =
            "mkdir -p /data && i=0; while [ $i -lt " + FILES + " ]; do " + "echo $i > /data/f$i; i=$((i+1)); done";
    private static final String CHECK = "ls /data | wc -l";
    private static final String PG_BIN = "/usr/lib/postgresql/15/bin/";
    private static final String PG_DATA = "/var/lib/postgresql/bench";
    private static final Pattern PG_READY = Pattern.compile("database system is ready to accept connections");
    private static final String[] PG_TEST_SETTINGS = {
        "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off", "-c", "shared_buffers=16MB"
    };

    private static final java.util.logging.Logger SERVICE_LOG =
            java.util.logging.Logger.getLogger(IsolatedEnvironment.SERVICE_LOGGER);

    private final BenchContext ctx;
    private final boolean sequencesOnly;

    FrozenBench(BenchContext ctx) {
        this(ctx, false);
    }

    /** @param sequencesOnly only the tests in a row ({@link #sequences}), e.g. to try a change to the pool */
    FrozenBench(BenchContext ctx, boolean sequencesOnly) {
        this.ctx = ctx;
        this.sequencesOnly = sequencesOnly;
    }

    void run() throws Exception {
        if (sequencesOnly) {
            Optional<Path> postgres = postgresRootfs();
            if (postgres.isPresent()) {
                sequences(initdbCluster(postgres.get().toString()));
                ctx.results()
                        .add(
                                Measurement.millis(
                                        Section.FROZEN,
                                        PG_TC,
                                        Kind.ANCHOR,
                                        Stats.quoted(1360),
                                        "issue 13: Testcontainers with the same image, start to a JDBC connection, on this machine with Docker"));
            }
            return;
        }
        Results results = ctx.results();
        int runs = Math.max(20, ctx.runs() / 5);
        FrozenState files;
        try (IsolatedEnvironment setup =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            check(setup.exec("sh", "-c", WRITE_FILES));
            files = setup.freeze("bench");
        }
        Map<String, TimedRun> cases = new LinkedHashMap<>();
        cases.put(FILES_FROZEN, TimedRun.whole(() -> {
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().from(files).start()) {
                checkCount(env.exec("sh", "-c", CHECK));
            }
        }));
        cases.put(FILES_SETUP, TimedRun.whole(() -> {
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                check(env.exec("sh", "-c", WRITE_FILES));
                checkCount(env.exec("sh", "-c", CHECK));
            }
        }));
        Sampler.interleaved(cases, ctx.warmup(), runs)
                .forEach((name, s) -> results.add(Measurement.millis(
                        Section.FROZEN,
                        name,
                        name.equals(FILES_FROZEN) ? Kind.ISOLATED : Kind.ALTERNATIVE,
                        s,
                        "busybox, a shell loop of `echo $i > /data/f$i`; both check `ls /data | wc -l`")));

        Optional<Path> postgres = postgresRootfs();
        if (postgres.isEmpty()) {
            results.note("No PostgreSQL rootfs in " + TEST_IMAGES + "/*/postgresql: the PostgreSQL comparison of "
                    + "frozen states was not measured.");
            return;
        }
        String rootfs = postgres.get().toString();
        FrozenState cluster = initdbCluster(rootfs);
        Map<String, TimedRun> pg = new LinkedHashMap<>();
        pg.put(PG_FROZEN, TimedRun.whole(() -> {
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().from(cluster).start()) {
                startPostgres(env);
            }
        }));
        pg.put(PG_FROZEN_FAST, TimedRun.whole(() -> {
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().from(cluster).start()) {
                startPostgres(env, PG_TEST_SETTINGS);
            }
        }));
        pg.put(PG_INITDB, TimedRun.whole(() -> {
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs(rootfs).start()) {
                initdb(env);
                startPostgres(env);
            }
        }));
        int pgRuns = Math.max(10, ctx.runs() / 15);
        Sampler.interleaved(pg, Math.max(3, pgRuns / 5), pgRuns)
                .forEach(
                        (name, s) -> results.add(
                                Measurement.millis(
                                        Section.FROZEN,
                                        name,
                                        !name.equals(PG_INITDB) ? Kind.ISOLATED : Kind.ALTERNATIVE,
                                        s,
                                        postgres.get() + ": initdb -N -A trust as postgres; postgres -D " + PG_DATA
                                                + " -k /tmp -h 127.0.0.1 "
                                                + "to its \"ready to accept connections\" line, then a connection through mappedPort(5432)")));
        results.add(
                Measurement.millis(
                        Section.FROZEN,
                        PG_INITDB_QUOTED,
                        Kind.ANCHOR,
                        Stats.quoted(545),
                        "issue 13: PostgreSQL 15 from a Debian rootfs, initdb + start + JDBC connection per test, on this machine"));
        results.add(
                Measurement.millis(
                        Section.FROZEN,
                        PG_TC,
                        Kind.ANCHOR,
                        Stats.quoted(1360),
                        "issue 13: Testcontainers with the same image, start to a JDBC connection, on this machine with Docker"));
        phases(cluster, pgRuns);
        sequences(cluster);
    }

    /**
     * Tests in a row, each getting a fresh PostgreSQL, connecting and running a small query: started in the test
     * from the frozen state (its ready line awaited by {@code Wait.forLogLine}, or by a scan of the output every
     * 50 ms as {@code forLogLine} did before it matched lines as they arrive), against taken from an
     * {@link EnvironmentPool} that starts the next ones off the tests' path. A run is {@value #SEQUENCE} tests
     * back to back and counts their mean, so a pool that cannot refill as fast as the tests take pays for it
     * (only the first {@value #POOL_READY} of each run find the pool full).
     */
    private void sequences(FrozenState cluster) throws Exception {
        SERVICE_LOG.setLevel(java.util.logging.Level.WARNING); // postgres's lines would flood the console
        Wait polled = Wait.until("a line matching /" + PG_READY + "/, the output scanned", env -> {
            IsolatedProcess server = env.service();
            return PG_READY.matcher(server.stdout()).find()
                    || PG_READY.matcher(server.stderr()).find();
        });
        List<Long> frozenConnected = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Long> poolConnected = new java.util.concurrent.CopyOnWriteArrayList<>();
        Map<String, TimedRun> seq = new LinkedHashMap<>();
        // the pool's environments are ready when a connection works, as Testcontainers' JDBC containers wait (and
        // the sample PostgresFreshDatabasePerTests): that first connection, which rebuilds the relation cache's
        // init file, is made off the tests' path
        Wait connects = Wait.allOf(Wait.forLogLine(PG_READY.pattern()), Wait.until("a connection", env -> {
            PgHandshake.connect(env.mappedPort(5432));
            return true;
        }));
        try (EnvironmentPool pool = EnvironmentPool.of(POOL_READY, () -> postgresService(cluster, connects))) {
            seq.put(
                    SEQ_FROZEN,
                    sequence(() -> postgresService(cluster, Wait.forLogLine(PG_READY.pattern())), frozenConnected));
            seq.put(SEQ_FROZEN_POLLED, sequence(() -> postgresService(cluster, polled), null));
            seq.put(SEQ_POOL, sequence(pool::take, poolConnected));
            int runs = Math.max(5, ctx.runs() / 60);
            Sampler.interleaved(seq, 1, runs)
                    .forEach((name, s) -> ctx.results()
                            .add(Measurement.millis(
                                    Section.FROZEN,
                                    name,
                                    Kind.ISOLATED,
                                    s,
                                    "each test: "
                                            + (name.equals(SEQ_POOL)
                                                    ? "pool.take()"
                                                    : "builder().from(state).user(\"100:102\").startImageCommand(wait, postgres ...).start()")
                                            + ", a connection and SELECT count(*) FROM pg_class through mappedPort(5432), close; "
                                            + SEQUENCE + " tests in a row per run, their mean")));
        }
        // counted from the measured runs only: the warm-up's tests are the first SEQUENCE of each list
        ctx.results()
                .add(Measurement.millis(
                        Section.FROZEN,
                        SEQ_FROZEN_CONNECTED,
                        Kind.ISOLATED,
                        Stats.ofNanos(measured(frozenConnected)),
                        "the tests of the runs above, each timed on its own"));
        ctx.results()
                .add(Measurement.millis(
                        Section.FROZEN,
                        SEQ_POOL_CONNECTED,
                        Kind.ISOLATED,
                        Stats.ofNanos(measured(poolConnected)),
                        "the tests of the runs above, each timed on its own"));
    }

    private static long[] measured(List<Long> nanos) {
        return nanos.subList(SEQUENCE, nanos.size()).stream()
                .mapToLong(Long::longValue)
                .toArray();
    }

    /** {@value #SEQUENCE} tests back to back, each with its own PostgreSQL from {@code fresh}; their mean. */
    private static TimedRun sequence(Supplier<IsolatedEnvironment> fresh, List<Long> connected) {
        return () -> {
            long start = System.nanoTime();
            for (int i = 0; i < SEQUENCE; i++) {
                long t0 = System.nanoTime();
                try (IsolatedEnvironment env = fresh.get()) {
                    int port = env.mappedPort(5432);
                    PgHandshake.connect(port);
                    if (connected != null) {
                        connected.add(System.nanoTime() - t0);
                    }
                    PgHandshake.query(port, "SELECT count(*) FROM pg_class");
                }
            }
            return (System.nanoTime() - start) / SEQUENCE;
        };
    }

    /** An environment from {@code cluster} with postgres started as its service and ready by {@code wait}. */
    private static IsolatedEnvironment postgresService(FrozenState cluster, Wait wait) {
        return IsolatedEnvironment.builder()
                .from(cluster)
                .user("100:102")
                .startImageCommand(wait, PG_BIN + "postgres", "-D", PG_DATA, "-k", "/tmp", "-h", "127.0.0.1")
                .start();
    }

    private static FrozenState initdbCluster(String rootfs) {
        try (IsolatedEnvironment setup =
                IsolatedEnvironment.builder().rootfs(rootfs).start()) {
            initdb(setup);
            return setup.freeze("bench");
        }
    }

    /** Where a frozen start's time goes: each phase of {@link #PG_FROZEN} timed on its own; medians as a note. */
    private void phases(FrozenState cluster, int runs) throws Exception {
        String[] names = {
            "environment from the state",
            "postgres spawned to its ready line",
            "connection (the first, which rebuilds the relation cache's init file)",
            "a second connection",
            "close"
        };
        long[][] nanos = new long[names.length][runs];
        long[] logged = new long[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            IsolatedEnvironment env =
                    IsolatedEnvironment.builder().from(cluster).start();
            long t1 = System.nanoTime();
            IsolatedProcess server =
                    env.start(Command.of(PG_BIN + "postgres", "-D", PG_DATA, "-k", "/tmp", "-h", "127.0.0.1")
                            .withUser(100, 102));
            server.awaitOutput(PG_READY);
            long t2 = System.nanoTime();
            PgHandshake.connect(env.mappedPort(5432));
            long t3 = System.nanoTime();
            PgHandshake.connect(env.mappedPort(5432));
            long t4 = System.nanoTime();
            logged[i] = loggedStartupMillis(server.stderr() + server.stdout());
            env.close();
            long t5 = System.nanoTime();
            long[] at = {t0, t1, t2, t3, t4, t5};
            for (int p = 0; p < names.length; p++) {
                nanos[p][i] = at[p + 1] - at[p];
            }
        }
        StringBuilder note = new StringBuilder("Where a PostgreSQL start from a frozen state goes (medians of " + runs
                + " runs, each phase timed on its own):");
        for (int p = 0; p < names.length; p++) {
            note.append(' ')
                    .append(names[p])
                    .append(' ')
                    .append(Format.number(Stats.ofNanos(nanos[p]).median()))
                    .append(" ms;");
        }
        double[] loggedMillis = java.util.Arrays.stream(logged).asDoubleStream().toArray();
        note.append(" PostgreSQL's own log from \"starting PostgreSQL\" to \"ready to accept connections\": ")
                .append(Format.number(Stats.of(loggedMillis).median()))
                .append(" ms.");
        ctx.results().note(note.toString());
    }

    /** @return the milliseconds between the log lines "starting PostgreSQL" and "ready to accept connections" */
    private static long loggedStartupMillis(String log) {
        java.util.regex.Matcher start = LOG_TIME.matcher(lineOf(log, "starting PostgreSQL"));
        java.util.regex.Matcher ready = LOG_TIME.matcher(lineOf(log, "ready to accept connections"));
        if (!start.find() || !ready.find()) {
            throw new IllegalStateException("no log times in " + log);
        }
        return java.time.Duration.between(
                        java.time.LocalTime.parse(start.group(1)), java.time.LocalTime.parse(ready.group(1)))
                .toMillis();
    }

    private static String lineOf(String log, String text) {
        int at = log.indexOf(text);
        if (at < 0) {
            throw new IllegalStateException("no line with \"" + text + "\" in " + log);
        }
        return log.substring(log.lastIndexOf('\n', at) + 1, at);
    }

    private static final Pattern LOG_TIME = Pattern.compile("(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) ");

    private static void initdb(IsolatedEnvironment env) {
        check(env.exec("sh", "-c", "mkdir -p " + PG_DATA + " && chown postgres:postgres " + PG_DATA));
        check(env.exec(Command.of(PG_BIN + "initdb", "-N", "-A", "trust", "-U", "postgres", "-D", PG_DATA)
                .withUser(100, 102)));
    }

    private static void startPostgres(IsolatedEnvironment env, String... settings) throws IOException {
        List<String> command =
                new java.util.ArrayList<>(List.of(PG_BIN + "postgres", "-D", PG_DATA, "-k", "/tmp", "-h", "127.0.0.1"));
        command.addAll(List.of(settings));
        IsolatedProcess server =
                env.start(Command.of(command.toArray(String[]::new)).withUser(100, 102));
        server.awaitOutput(PG_READY);
        PgHandshake.connect(env.mappedPort(5432));
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

    /**
     * Runs this section alone: {@code FrozenBench [runs] [sequences]}, {@code sequences} for only the tests in a
     * row (PostgreSQL started per test against taken from a pool); prints its table.
     */
    public static void main(String[] args) throws Exception {

        Results results = new Results();
        BenchContext ctx = new BenchContext(
                null, null, null, args.length > 0 ? Integer.parseInt(args[0]) : 300, null, null, results);
        new FrozenBench(ctx, args.length > 1 && args[1].equals("sequences")).run();
        System.out.println(new ReportWriter(results, List.of(), Machine.describe()).console());
    }
}
