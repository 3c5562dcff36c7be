package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.internal.env.LayerDirectories;
import dev.isolated.internal.helper.TemporarySubIds;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.TestExecutionResult;

@DisplayName("freeze(): an initialised environment as a read-only layer, a fresh copy-on-write copy per environment")
class FrozenStateTests {

    @Test
    @DisplayName("B and C from A's frozen state see A's files and deletions; B's writes reach neither C nor the state")
    void copyOnWritePerEnvironment() {
        FrozenState state;
        try (IsolatedEnvironment a =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(a.exec(
                            "sh",
                            "-c",
                            "mkdir -p /data && echo from-a > /data/a && rm /etc/group "
                                    + "&& rm -rf /usr/share && mkdir -p /usr/share && echo only > /usr/share/only "
                                    + "&& chmod 0700 /data && mkfifo /data/fifo && ln -s /data/a /data/link"))
                    .succeeded();
            state = a.freeze("v1");
            assertThat(a.exec("cat", "/data/a")).stdout().isEqualTo("from-a\n");
        }
        assertThat(state.key()).isEqualTo("v1");
        assertThat(state.isStale()).isFalse();
        try (IsolatedEnvironment b = IsolatedEnvironment.builder().from(state).start();
                IsolatedEnvironment c =
                        IsolatedEnvironment.builder().from(state).start()) {
            for (IsolatedEnvironment env : List.of(b, c)) {
                assertThat(env.exec("cat", "/data/a")).stdout().isEqualTo("from-a\n");
                assertThat(env.exec("ls", "/etc/group")).failed();
                assertThat(env.exec("ls", "/usr/share")).stdout().isEqualTo("only\n");
                assertThat(env.exec("stat", "-c", "%a %u", "/data")).stdout().isEqualTo("700 0\n");
                assertThat(env.exec("stat", "-c", "%F", "/data/fifo")).stdout().isEqualTo("fifo\n");
                assertThat(env.exec("readlink", "/data/link")).stdout().isEqualTo("/data/a\n");
            }
            assertThat(b.exec("sh", "-c", "echo from-b > /data/b && rm /data/a && echo back > /etc/group"))
                    .succeeded();
            assertThat(c.exec("ls", "/data")).stdout().isEqualTo("a\nfifo\nlink\n");
            assertThat(c.exec("ls", "/etc/group")).failed();
        }
        try (IsolatedEnvironment d = IsolatedEnvironment.builder().from(state).start()) {
            assertThat(d.exec("ls", "/data")).stdout().isEqualTo("a\nfifo\nlink\n");
        }
    }

    @Test
    @DisplayName("the state keeps owners and times of files and symlinks; not /tmp, /dev/shm, a @Tmpfs mount, nor what "
            + "the frozen environment writes after the freeze")
    void whatTheStateKeeps() {
        FrozenState state;
        try (IsolatedEnvironment a = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .tmpfs("/scratch", 1 << 20)
                .start()) {
            assertThat(a.exec(
                            "sh",
                            "-c",
                            "mkdir /d && echo x > /d/f && chown 1234:5678 /d/f && touch -d '2001-02-03 04:05:06' /d/f "
                                    + "&& ln -s f /d/l && chown -h 42:43 /d/l && touch -d '2002-02-03 04:05:06' /d "
                                    + "&& echo t > /tmp/t && echo s > /dev/shm/s && echo m > /scratch/m"))
                    .succeeded();
            state = a.freeze();
            a.writeString("/later", "after the freeze\n");
            assertThat(a.exec("cat", "/later", "/tmp/t")).stdout().isEqualTo("after the freeze\nt\n");
        }
        try (IsolatedEnvironment b = IsolatedEnvironment.builder()
                .from(state)
                .tmpfs("/scratch", 1 << 20)
                .start()) {
            assertThat(b.exec("stat", "-c", "%n %Y %u %g", "/d/f", "/d"))
                    .stdout()
                    .isEqualTo("/d/f 981173106 1234 5678\n/d 1012709106 0 0\n");
            assertThat(b.exec("stat", "-c", "%N %u %g", "/d/l")).stdout().isEqualTo("'/d/l' -> 'f' 42 43\n");
            assertThat(b.exec("ls", "/tmp", "/dev/shm", "/scratch"))
                    .stdout()
                    .isEqualTo("/dev/shm:\n\n/scratch:\n\n/tmp:\n");
            assertThat(b.exec("ls", "/later")).failed();
        }
    }

    @Test
    @DisplayName(
            "freeze stops what still runs: SIGTERM first (a handler's last write is in the state), SIGKILL for what ignores it")
    void freezeStopsProcesses() {
        FrozenState state;
        try (IsolatedEnvironment a =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            IsolatedProcess graceful = a.start(
                    "sh",
                    "-c",
                    "trap 'echo clean > /stopped; exit 0' TERM; " + "echo up > /up; while true; do sleep 0.05; done");
            a.exec("sh", "-c", "setsid sh -c 'trap \"\" TERM; while true; do sleep 0.05; done' > /dev/null 2>&1 &");
            a.awaitFile("/up");
            state = a.freeze();
            assertThat(graceful.awaitExit().exitCode()).isZero();
            assertThat(a.processes()).extracting(ProcessInfo::hostPid).containsExactly(a.initHostPid());
        }
        try (IsolatedEnvironment b = IsolatedEnvironment.builder().from(state).start()) {
            assertThat(b.exec("cat", "/stopped")).stdout().isEqualTo("clean\n");
        }
    }

    @Test
    @DisplayName("what the state does not keep, as documented: hard links become separate files, extended attributes "
            + "other than the opaque marks are left out")
    void whatTheStateLeavesOut() throws IOException {
        FrozenState state;
        try (IsolatedEnvironment a =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(a.exec("sh", "-c", "mkdir /d && echo x > /d/a && ln /d/a /d/b && stat -c %h /d/a"))
                    .stdout()
                    .isEqualTo("2\n");
            Path a1 = Path.of("/proc/" + a.initHostPid() + "/root/d/a");
            Files.setAttribute(a1, "user:origin", "frozen".getBytes(StandardCharsets.UTF_8));
            assertThat(Files.getAttribute(a1, "user:origin")).isEqualTo("frozen".getBytes(StandardCharsets.UTF_8));
            state = a.freeze();
        }
        try (IsolatedEnvironment b = IsolatedEnvironment.builder().from(state).start()) {
            assertThat(b.exec("sh", "-c", "stat -c %h /d/a /d/b && echo y > /d/a && cat /d/b"))
                    .stdout()
                    .isEqualTo("1\n1\nx\n");
            assertThat(Files.readAttributes(Path.of("/proc/" + b.initHostPid() + "/root/d/a"), "user:*"))
                    .isEmpty();
        }
    }

    @Test
    @DisplayName("freezing while another thread runs commands: each freeze succeeds, and that thread sees only the "
            + "documented outcomes (done, or stopped with 143 or 137)")
    void freezeWhileAnotherThreadRunsCommands() throws Exception {
        try (IsolatedEnvironment a =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            AtomicBoolean done = new AtomicBoolean();
            List<String> outcomes = new CopyOnWriteArrayList<>();
            CompletableFuture<Void> other = CompletableFuture.runAsync(() -> {
                for (int i = 0; !done.get(); i++) {
                    int code = a.exec("sh", "-c", "echo " + i + " > /f" + i).exitCode();
                    outcomes.add(code == 0 || code == 143 || code == 137 ? "ok" : "exit " + code);
                }
            });
            a.awaitFile("/f1");
            for (int i = 0; i < 5; i++) {
                FrozenState state = a.freeze();
                try (IsolatedEnvironment b =
                        IsolatedEnvironment.builder().from(state).start()) {
                    assertThat(b.exec("cat", "/f0")).stdout().isEqualTo("0\n");
                }
            }
            done.set(true);
            other.get(2, TimeUnit.MINUTES);
            assertThat(outcomes).isNotEmpty().containsOnly("ok");
        }
    }

    @Test
    @DisplayName(
            "freezing while other threads start commands: a command whose start is under way finishes starting and "
                    + "is stopped with the rest (143 or 137), or starts after the freeze; none fails to start")
    void freezeWhileOtherThreadsStartCommands() throws Exception {
        try (IsolatedEnvironment a =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(startCommandsWhileFreezing(a)).isEmpty();
        }
    }

    @Test
    @DisplayName("a command started while a freeze runs waits for it; an interrupt ends that wait with an "
            + "IsolatedException, the command not started and the interrupt status kept")
    void interruptedWhileWaitingForFreeze() throws Exception {
        try (IsolatedEnvironment a =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            IsolatedProcess stubborn =
                    a.start("sh", "-c", "trap 'echo > /termed' TERM; echo up > /up; while true; do sleep 0.05; done");
            a.awaitFile("/up");
            CompletableFuture<FrozenState> freezing = new CompletableFuture<>();
            new Thread(() -> {
                        try {
                            freezing.complete(a.freeze());
                        } catch (Throwable t) {
                            freezing.completeExceptionally(t);
                        }
                    })
                    .start();
            a.awaitFile("/termed"); // the freeze runs: it waits for the shell that ignores SIGTERM
            CompletableFuture<String> outcome = new CompletableFuture<>();
            Thread starter = new Thread(() -> {
                try {
                    outcome.complete("ran: " + a.exec("sh", "-c", "echo > /started"));
                } catch (RuntimeException e) {
                    outcome.complete(e.getClass().getSimpleName() + ": " + e.getMessage() + ", interrupted "
                            + Thread.currentThread().isInterrupted());
                }
            });
            starter.start();
            while (starter.getState() != Thread.State.WAITING && !outcome.isDone()) { // parked until the freeze ends
                Thread.onSpinWait();
            }
            starter.interrupt();
            assertThat(outcome.get())
                    .isEqualTo("IsolatedException: Interrupted while waiting for freeze() to finish before starting "
                            + "[sh, -c, echo > /started]; it was not started, interrupted true");
            ProcessHandle.of(stubborn.hostPid()).ifPresent(ProcessHandle::destroyForcibly); // not 10 s to SIGKILL
            freezing.get();
            assertThat(a.exec("ls", "/started")).failed();
        }
    }

    /**
     * Three threads start commands in {@code env} ({@code true}, {@code sleep 30}; by {@code exec}, which awaits no
     * start, and by {@code start}, which does) until 60 freezes are done; the freezes go on until the threads ended.
     *
     * @return what went otherwise than a command's exit with 0, 143 or 137
     */
    static List<String> startCommandsWhileFreezing(IsolatedEnvironment env) throws Exception {
        AtomicBoolean done = new AtomicBoolean();
        List<String> unexpected = new CopyOnWriteArrayList<>();
        AtomicInteger commands = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(3);
        List<CompletableFuture<Void>> starters = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            int first = t;
            starters.add(CompletableFuture.runAsync(
                    () -> {
                        for (int i = first; !done.get(); i++) {
                            String[] argv = i % 2 == 0 ? new String[] {"true"} : new String[] {"sleep", "30"};
                            try {
                                ExecResult r = i % 4 < 2
                                        ? env.exec(argv)
                                        : env.start(argv).awaitExit();
                                commands.incrementAndGet();
                                if (r.exitCode() != 0 && r.exitCode() != 143 && r.exitCode() != 137) {
                                    unexpected.add(List.of(argv) + ": exit " + r.exitCode() + " " + r.stderr());
                                }
                            } catch (RuntimeException e) {
                                unexpected.add(List.of(argv) + ": " + e);
                            }
                        }
                    },
                    threads));
        }
        threads.shutdown();
        CompletableFuture<Void> all = CompletableFuture.allOf(starters.toArray(CompletableFuture[]::new));
        for (int f = 0; f < 60 && !all.isDone(); f++) {
            env.freeze();
        }
        done.set(true);
        while (!all.isDone()) { // a freeze ends the sleeps under way; their threads then see done
            env.freeze();
        }
        all.get();
        if (commands.get() == 0) {
            unexpected.add("no command ran");
        }
        return unexpected;
    }

    @Test
    @DisplayName("hostile: symlinks in the frozen layer are copied as symlinks, never followed to the host")
    void symlinksAreNotFollowed(@TempDir Path dir) throws IOException {
        Path canary = Files.writeString(dir.resolve("canary"), "host canary\n");
        FrozenState state;
        try (IsolatedEnvironment a =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(
                            a.exec(
                                    "sh",
                                    "-c",
                                    "mkdir /data && ln -s " + canary + " /data/canary-link && ln -s " + dir
                                            + " /data/host-dir && ln -s / /data/root && ln -s ../../../../../etc/shadow /data/up"))
                    .succeeded();
            state = a.freeze();
        }
        try (IsolatedEnvironment b = IsolatedEnvironment.builder().from(state).start()) {
            assertThat(b.exec("readlink", "/data/canary-link")).stdout().isEqualTo(canary + "\n");
            assertThat(b.exec("readlink", "/data/host-dir")).stdout().isEqualTo(dir + "\n");
            assertThat(b.exec("cat", "/data/canary-link")).failed();
            assertThat(b.exec("ls", "/data/host-dir/")).failed();
            assertThat(b.exec("readlink", "/data/up")).stdout().isEqualTo("../../../../../etc/shadow\n");
        }
        assertThat(canary).content().isEqualTo("host canary\n");
    }

    @Test
    @DisplayName("a state whose copy was removed from the host is refused, naming the copy, before anything starts")
    void removedCopyIsRefused() throws IOException {
        FrozenState state;
        try (IsolatedEnvironment a =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            a.writeString("/seed", "seeded\n");
            state = a.freeze("k1");
        }
        IsolatedEnvironmentBuilder builtBefore = IsolatedEnvironment.builder().from(state);
        Path copy = state.layerForUse().layers().get(0);
        dev.isolated.internal.os.TreeRemoval.remove(copy);
        String message = "The frozen state made by freeze(\"k1\") is gone from the host: its copy " + copy
                + " was removed while this JVM used it (the copies in isolated.layer.dir live until the JVM exits; "
                + "nothing else may change them); freeze the environment again";

        assertThatThrownBy(builtBefore::start)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage(message);
        assertThatThrownBy(() -> IsolatedEnvironment.builder().from(state))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage(message);
    }

    @Test
    @DisplayName("freeze needs a PID namespace of the environment's own, and says so")
    void needsPidNamespace() {
        try (IsolatedEnvironment a = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(LinuxNamespace.MOUNT, LinuxNamespace.UTS)
                .start()) {
            assertThatThrownBy(a::freeze)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage(
                            "freeze() needs LinuxNamespace.PID: it stops every process of the environment, and only a "
                                    + "PID namespace of its own tells them from the host's");
        }
    }

    @Test
    @DisplayName("a state frozen from an environment made from a state has both layers")
    void freezeAgain() {
        FrozenState first;
        try (IsolatedEnvironment a =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            a.writeString("/one", "1\n");
            first = a.freeze();
        }
        FrozenState second;
        try (IsolatedEnvironment b = IsolatedEnvironment.builder().from(first).start()) {
            assertThat(b.exec("sh", "-c", "echo 2 > /two && rm /one")).succeeded();
            second = b.freeze();
        }
        try (IsolatedEnvironment c = IsolatedEnvironment.builder().from(second).start()) {
            assertThat(c.exec("cat", "/two")).stdout().isEqualTo("2\n");
            assertThat(c.exec("ls", "/one")).failed();
        }
    }

    @Test
    @DisplayName("a state is at most 8 layers deep: an environment from an 8-layer state runs, but freezing it fails "
            + "at once, its processes left running")
    void atMostEightLayers() {
        FrozenState state;
        try (IsolatedEnvironment a =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            a.writeString("/layer1", "1\n");
            state = a.freeze();
        }
        for (int depth = 2; depth <= 8; depth++) {
            try (IsolatedEnvironment e =
                    IsolatedEnvironment.builder().from(state).start()) {
                e.writeString("/layer" + depth, depth + "\n");
                state = e.freeze();
            }
        }
        try (IsolatedEnvironment deepest =
                IsolatedEnvironment.builder().from(state).start()) {
            assertThat(deepest.exec("cat", "/layer1", "/layer8")).stdout().isEqualTo("1\n8\n");
            IsolatedProcess running = deepest.start("sleep", "1000");
            assertThatThrownBy(deepest::freeze)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("freeze(): this environment starts from a state of 8 layers, the most an environment "
                            + "can start from, so none could start from a state frozen from it; freeze an environment "
                            + "made from a state of fewer layers (nothing was stopped)");
            assertThat(running.isAlive()).isTrue();
        }
    }

    @Test
    @DisplayName(
            "cached(): one state per name and key across callers; a new key makes it anew and the old one is refused as stale")
    void cachedAndStale() {
        AtomicInteger setups = new AtomicInteger();
        FrozenState v1 = FrozenState.cached("frozen-state-tests", "v1", () -> setup(setups, "one"));
        FrozenState again = FrozenState.cached("frozen-state-tests", "v1", () -> setup(setups, "other"));
        assertThat(again).isSameAs(v1);
        assertThat(setups).hasValue(1);
        assertThat(FrozenState.named("frozen-state-tests")).containsSame(v1);

        List<String> warnings = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel() == Level.WARNING) {
                    warnings.add(record.getMessage());
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger log = Logger.getLogger(FrozenState.class.getName());
        IsolatedEnvironmentBuilder builtBefore = IsolatedEnvironment.builder().from(v1);
        FrozenState v2;
        try (IsolatedEnvironment fromOld =
                IsolatedEnvironment.builder().from(v1).start()) {
            log.addHandler(handler);
            try {
                v2 = FrozenState.cached("frozen-state-tests", "v2", () -> setup(setups, "two"));
            } finally {
                log.removeHandler(handler);
            }
            assertThat(fromOld.exec("cat", "/made")).stdout().isEqualTo("one\n"); // started from v1: keeps it
        }
        assertThat(warnings)
                .containsExactly(
                        "[isolated] frozen state frozen-state-tests is stale: made for key v1, now v2; making it anew");
        assertThat(setups).hasValue(2);
        assertThat(v1.isStale()).isTrue();
        assertThat(v2.isStale()).isFalse();
        assertThatThrownBy(builtBefore::start)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("The frozen state frozen-state-tests is stale");
        assertThatThrownBy(() -> IsolatedEnvironment.builder().from(v1))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("The frozen state frozen-state-tests is stale: it was made for key v1, and "
                        + "FrozenState.cached(\"frozen-state-tests\", ...) made it anew for key v2; use the state that "
                        + "call returned (or FrozenState.named(\"frozen-state-tests\"))");
        try (IsolatedEnvironment env = IsolatedEnvironment.builder().from(v2).start()) {
            assertThat(env.exec("cat", "/made")).stdout().isEqualTo("two\n");
        }
    }

    private static IsolatedEnvironment setup(AtomicInteger setups, String content) {
        setups.incrementAndGet();
        IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start();
        env.writeString("/made", content + "\n");
        return env;
    }

    @Test
    @DisplayName("a cached state needs a name: an empty one is refused before anything is made")
    void cachedNeedsAName() {
        boolean[] setupRan = {false};
        assertThatThrownBy(() -> FrozenState.cached("", "v1", () -> {
                    setupRan[0] = true;
                    return IsolatedEnvironment.builder().rootfs("busybox.tar").start();
                }))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("A frozen state's name must not be empty");
        assertThat(setupRan[0]).as("setup ran").isFalse();
    }

    @Test
    @DisplayName("cached(): calls for one name at once run its setup once and get the same state; the setup's "
            + "environment is closed")
    void cachedConcurrently() throws Exception {
        AtomicInteger setups = new AtomicInteger();
        List<IsolatedEnvironment> made = new CopyOnWriteArrayList<>();
        Supplier<IsolatedEnvironment> setup = () -> {
            IsolatedEnvironment env = setup(setups, "made once");
            made.add(env);
            return env;
        };
        CompletableFuture<FrozenState> first =
                CompletableFuture.supplyAsync(() -> FrozenState.cached("frozen-concurrent-tests", "k", setup));
        CompletableFuture<FrozenState> second =
                CompletableFuture.supplyAsync(() -> FrozenState.cached("frozen-concurrent-tests", "k", setup));
        assertThat(first.get(2, TimeUnit.MINUTES)).isSameAs(second.get(2, TimeUnit.MINUTES));
        assertThat(setups).hasValue(1);
        assertThatThrownBy(() -> made.get(0).exec("true"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("This isolated environment is closed");
    }

    @Test
    @DisplayName(
            "@WritableLayer(frozen = name) gives each test a fresh copy of the state cached under that name; an unknown name fails the test")
    void annotation() {
        var results = EngineRunner.run(FrozenAnnotationTestCase.class, Map.of());
        results.testEvents().assertStatistics(stats -> stats.succeeded(2).failed(0));

        var unknown = EngineRunner.run(UnknownFrozenTestCase.class, Map.of());
        Throwable failure = unknown.testEvents().failed().stream()
                .map(e -> e.getPayload(TestExecutionResult.class)
                        .orElseThrow()
                        .getThrowable()
                        .orElseThrow())
                .findFirst()
                .orElseThrow();
        assertThat(failure)
                .hasMessage("@WritableLayer(frozen = \"no-such-state\"): no frozen state of that name in this "
                        + "JVM yet; make it with FrozenState.cached(\"no-such-state\", key, setup) before the test runs (in a "
                        + "static field or a @BeforeAll method)");
    }

    @Test
    @DisplayName("@WritableLayer(frozen = name) on a PER_CLASS class takes the state made in the class's static field, "
            + "although its environment is made before JUnit first uses the class")
    void perClassFromStaticField() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(PerClassFrozenTestCase.class), 2);
    }

    @Test
    @DisplayName("@WritableLayer(frozen = name) takes a state made in a @BeforeAll method, on the class or a method")
    void fromBeforeAll() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(BeforeAllFrozenTestCase.class), 2);
    }

    @Isolated(rootfs = "busybox.tar")
    static class BeforeAllFrozenTestCase {
        @org.junit.jupiter.api.BeforeAll
        static void makeState() {
            FrozenState.cached("frozen-before-all-tests", "k", () -> {
                IsolatedEnvironment env =
                        IsolatedEnvironment.builder().rootfs("busybox.tar").start();
                env.writeString("/seed", "from @BeforeAll\n");
                return env;
            });
        }

        @Test
        @WritableLayer(frozen = "frozen-before-all-tests")
        void fromTheState(IsolatedEnvironment env) {
            assertThat(env.exec("cat", "/seed")).stdout().isEqualTo("from @BeforeAll\n");
        }

        @Test
        void fromTheImage(IsolatedEnvironment env) {
            assertThat(env.exec("ls", "/seed")).failed();
        }
    }

    @Isolated(lifecycle = Isolated.Lifecycle.PER_CLASS)
    @WritableLayer(frozen = "frozen-per-class-tests")
    static class PerClassFrozenTestCase {
        static final FrozenState STATE = FrozenState.cached("frozen-per-class-tests", "k", () -> {
            IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start();
            env.writeString("/seed", "seeded\n");
            return env;
        });

        @Test
        void first(IsolatedEnvironment env) {
            assertThat(env.exec("cat", "/seed")).stdout().isEqualTo("seeded\n");
            env.writeString("/first", "1\n");
        }

        @Test
        void second(IsolatedEnvironment env) {
            assertThat(env.exec("cat", "/seed")).stdout().isEqualTo("seeded\n");
        }
    }

    @Test
    @DisplayName(
            "across classes of one JVM: a second class asking for the same name and key gets the state made for the first, set up once")
    void acrossClasses() {
        EngineRunner.run(FirstSharingTestCase.class, Map.of())
                .testEvents()
                .assertStatistics(stats -> stats.succeeded(1));
        EngineRunner.run(SecondSharingTestCase.class, Map.of())
                .testEvents()
                .assertStatistics(stats -> stats.succeeded(1));

        assertThat(SHARED_SETUPS).hasValue(1);
        assertThat(FirstSharingTestCase.STATE).isSameAs(SecondSharingTestCase.STATE);
    }

    static final AtomicInteger SHARED_SETUPS = new AtomicInteger();

    static FrozenState sharedState() {
        return FrozenState.cached("frozen-sharing-tests", "k", () -> setup(SHARED_SETUPS, "shared"));
    }

    @Isolated
    @WritableLayer(frozen = "frozen-sharing-tests")
    static class FirstSharingTestCase {
        static final FrozenState STATE = sharedState();

        @Test
        void test(IsolatedEnvironment env) {
            assertThat(env.exec("cat", "/made")).stdout().isEqualTo("shared\n");
        }
    }

    @Isolated
    @WritableLayer(frozen = "frozen-sharing-tests")
    static class SecondSharingTestCase {
        static final FrozenState STATE = sharedState();

        @Test
        void test(IsolatedEnvironment env) {
            assertThat(env.exec("cat", "/made")).stdout().isEqualTo("shared\n");
        }
    }

    @Test
    @DisplayName("the frozen copies are gone once the JVM that made them exits")
    void goneAfterJvmExit(@TempDir Path dir) throws IOException, InterruptedException {
        Path root = dir.resolve("layers");
        Process child = childJvm(root, FreezeThenExit.class).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor()).as(out).isZero();
        assertThat(out).contains("frozen-").contains("seen from b: a\n");
        try (Stream<Path> left = Files.list(root)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    @DisplayName("two JVMs making the same cached state at once: each makes its own, in its own directory, and leaves "
            + "nothing when it exits")
    void cachedInTwoJvmsAtOnce(@TempDir Path dir) throws IOException, InterruptedException {
        Path root = dir.resolve("layers");
        List<Process> children = new java.util.ArrayList<>();
        for (int i = 0; i < 2; i++) {
            children.add(childJvm(root, CachedThenExit.class).start());
        }
        List<String> copies = new java.util.ArrayList<>();
        for (Process child : children) {
            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(child.waitFor()).as(out).isZero();
            assertThat(out).startsWith("seed from " + root);
            copies.add(out);
        }
        assertThat(copies.get(0)).isNotEqualTo(copies.get(1));
        try (Stream<Path> left = Files.list(root)) {
            assertThat(left).isEmpty();
        }
    }

    /** A child JVM: makes a cached state, starts an environment from it, prints the copy it used and exits. */
    public static final class CachedThenExit {
        public static void main(String[] args) {
            FrozenState state = FrozenState.cached("two-jvms", "k", () -> {
                IsolatedEnvironment env =
                        IsolatedEnvironment.builder().rootfs("busybox.tar").start();
                env.writeString("/seed", "x\n");
                return env;
            });
            try (IsolatedEnvironment e =
                    IsolatedEnvironment.builder().from(state).start()) {
                assertThat(e.readString("/seed")).isEqualTo("x\n");
            }
            System.out.print("seed from " + state.layerForUse().layers().get(0));
        }
    }

    @Test
    @DisplayName("a JVM killed by SIGKILL while it freezes takes its copy-layer with it, and the next JVM removes the "
            + "half-made copy")
    void killedWhileFreezing(@TempDir Path dir) throws Exception {
        Path root = dir.resolve("layers");
        Process child = childJvm(root, FreezeLargeLayer.class)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        ProcessHandle copy = null;
        try {
            while (copy == null && child.isAlive()) {
                copy = copyLayerInto(root).orElse(null);
                Thread.sleep(5);
            }
            assertThat(copy).as("the child's copy-layer, caught running").isNotNull();
            new ProcessBuilder("kill", "-STOP", Long.toString(copy.pid()))
                    .start()
                    .waitFor();
            child.destroyForcibly();
            assertThat(child.waitFor()).isEqualTo(137);
            // stopped, the copy could only end by the signal its parent's death sends
            assertThat(copy.onExit()).succeedsWithin(Duration.ofSeconds(30));

            LayerDirectories.in(root, "test");

            try (Stream<Path> children = Files.list(root)) {
                assertThat(children.filter(p -> p.getFileName().toString().startsWith("jvm-")))
                        .singleElement()
                        .satisfies(p -> assertThat(p.getFileName().toString())
                                .startsWith("jvm-" + ProcessHandle.current().pid() + "-"));
            }
        } finally {
            child.destroyForcibly();
            if (copy != null) {
                copy.destroyForcibly();
                new ProcessBuilder("kill", "-CONT", Long.toString(copy.pid()))
                        .start()
                        .waitFor();
            }
        }
    }

    /**
     * The child's copy-layer once it has made its target (copy-layer FROM TO): by then it has asked to die with its
     * parent, which it does first; one stopped before that would rightly outlive the JVM's SIGKILL.
     */
    private static java.util.Optional<ProcessHandle> copyLayerInto(Path root) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains(" copy-layer ")
                        && p.info().commandLine().orElse("").contains(root.toString()))
                .filter(p -> {
                    String[] args = p.info().arguments().orElse(new String[0]);
                    return args.length >= 3 && Files.isDirectory(Path.of(args[2]));
                })
                .findFirst();
    }

    /** A child JVM: freezes an environment of 256 files of 1 MiB, for its parent to kill while it copies them. */
    public static final class FreezeLargeLayer {
        public static void main(String[] args) {
            IsolatedEnvironment a =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start();
            a.exec(
                    "sh",
                    "-c",
                    "mkdir /big && for i in $(seq 256); do dd if=/dev/zero of=/big/$i bs=1M count=1 "
                            + "2>/dev/null; done");
            a.freeze();
        }
    }

    @Test
    @DisplayName("rootless (uid 65534): freeze, also while other threads start commands, environments from the state "
            + "and a disk layer work as for root")
    void rootless(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = NobodyJvm.runFixture(dir, RootlessFrozenTestCase.class);

        assertThat(lines).hasSize(3).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    @Test
    @DisplayName(
            "rootless with SUBIDS: a file another user wrote inside belongs to root in the state, and one the JVM's "
                    + "user cannot read fails the freeze naming its path")
    void rootlessSubids(@TempDir Path dir) throws Exception {
        Path run = NobodyJvm.runDirectory(dir, "run");
        List<String> lines = TemporarySubIds.during(
                TemporarySubIds.replacing(List.of("nobody", NobodyJvm.NOBODY), NobodyJvm.NOBODY + ":1300000000:65536"),
                () -> NobodyJvm.runFixture(run, RootlessSubidsTestCase.class, List.of()));

        assertThat(lines).hasSize(2).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    @Isolated(rootfs = "busybox.tar", userMapping = UserMapping.SUBIDS)
    static class RootlessSubidsTestCase {
        @Test
        void ownersBecomeRoot(IsolatedEnvironment a) {
            assertThat(a.exec("sh", "-c", "mkdir /data && echo s > /data/f && chown 1000:1000 /data/f"))
                    .succeeded();
            FrozenState state = a.freeze();
            try (IsolatedEnvironment b = IsolatedEnvironment.builder()
                    .from(state)
                    .userMapping(UserMapping.SUBIDS)
                    .start()) {
                assertThat(b.exec("stat", "-c", "%u %g", "/data/f")).stdout().isEqualTo("0 0\n");
            }
        }

        @Test
        void unreadableFails(IsolatedEnvironment a) {
            assertThat(a.exec(
                            "sh",
                            "-c",
                            "mkdir -p /data/sub && echo p > /data/sub/p && chown 1000 /data/sub/p "
                                    + "&& chmod 600 /data/sub/p"))
                    .succeeded();
            assertThatThrownBy(a::freeze)
                    .isInstanceOf(IsolatedException.class)
                    .hasMessageStartingWith("freeze(): copying the writable layer to ")
                    .hasMessageContaining("/frozen-1 failed (exit 125): isolated-helper: copy-layer: copy /proc/")
                    .hasMessageContaining(" (at data/sub/p): Permission denied\nhint: every file of the layer must be "
                            + "readable (frozen states are kept in isolated.layer.dir)");
        }
    }

    /** A JVM of this class path running {@code main}, its layers in {@code root}, its stderr this JVM's. */
    private static ProcessBuilder childJvm(Path root, Class<?> main) {
        return new ProcessBuilder(
                        Paths.get(System.getProperty("java.home"), "bin", "java")
                                .toString(),
                        "-D" + IsolatedConfiguration.LAYER_DIR + "=" + root,
                        "-cp",
                        System.getProperty("java.class.path"),
                        main.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT);
    }

    /** A child JVM: freezes an environment, shows the copy exists and works, and exits normally. */
    public static final class FreezeThenExit {
        public static void main(String[] args) throws IOException {
            Path root = Path.of(System.getProperty(IsolatedConfiguration.LAYER_DIR));
            FrozenState state;
            try (IsolatedEnvironment a =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                a.writeString("/a", "a\n");
                state = a.freeze();
            }
            try (Stream<Path> jvms = Files.list(root);
                    Stream<Path> inside = Files.list(jvms.findFirst().orElseThrow())) {
                inside.filter(p -> p.getFileName().toString().startsWith("frozen-"))
                        .forEach(System.out::println);
            }
            try (IsolatedEnvironment b =
                    IsolatedEnvironment.builder().from(state).start()) {
                System.out.print("seen from b: " + b.readString("/a"));
            }
        }
    }

    @Isolated
    @WritableLayer(frozen = "frozen-annotation-tests")
    static class FrozenAnnotationTestCase {
        static final FrozenState STATE = FrozenState.cached("frozen-annotation-tests", "k", () -> {
            IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start();
            env.writeString("/seed", "seeded\n");
            return env;
        });

        @Test
        void first(IsolatedEnvironment env) {
            check(env);
        }

        @Test
        void second(IsolatedEnvironment env) {
            check(env);
        }

        private static void check(IsolatedEnvironment env) {
            assertThat(env.exec("cat", "/seed")).stdout().isEqualTo("seeded\n");
            assertThat(env.exec("ls", "/mine")).failed(); // the other test's write is not here
            env.writeString("/mine", "x\n");
        }
    }

    @Isolated(rootfs = "busybox.tar")
    @WritableLayer(frozen = "no-such-state")
    static class UnknownFrozenTestCase {
        @Test
        void test(IsolatedEnvironment env) {}
    }

    @Isolated(rootfs = "busybox.tar")
    static class RootlessFrozenTestCase {
        @Test
        void freezeAndUse(IsolatedEnvironment a) {
            assertThat(a.exec("sh", "-c", "mkdir /data && echo a > /data/a && rm /etc/group && id -u > /data/who"))
                    .succeeded();
            FrozenState state = a.freeze();
            try (IsolatedEnvironment b =
                            IsolatedEnvironment.builder().from(state).start();
                    IsolatedEnvironment c =
                            IsolatedEnvironment.builder().from(state).start()) {
                assertThat(b.exec("cat", "/data/a")).stdout().isEqualTo("a\n");
                assertThat(b.exec("ls", "/etc/group")).failed();
                assertThat(b.exec("sh", "-c", "echo b > /data/b")).succeeded();
                assertThat(c.exec("ls", "/data")).stdout().isEqualTo("a\nwho\n");
            }
        }

        @Test
        void freezeWhileOtherThreadsStartCommands(IsolatedEnvironment a) throws Exception {
            assertThat(startCommandsWhileFreezing(a)).isEmpty();
        }

        @Test
        @WritableLayer(storage = LayerStorage.DISK)
        void diskLayer(IsolatedEnvironment env) throws IOException {
            ExecResult df =
                    env.exec("sh", "-c", "dd if=/dev/zero of=/big bs=1M count=8 2>/dev/null && df -k / | tail -1");
            assertThat(df).succeeded();
            long hostKb =
                    Files.getFileStore(Path.of(System.getProperty("user.home"))).getTotalSpace() / 1024;
            assertThat(df.stdout().trim().split("\\s+")[1])
                    .as("the root's size is the disk's")
                    .isEqualTo(Long.toString(hostKb));
            assertThat(env.exec("stat", "-c", "%s", "/big")).stdout().isEqualTo("8388608\n");
        }
    }
}
