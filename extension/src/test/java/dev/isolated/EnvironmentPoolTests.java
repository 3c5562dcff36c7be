package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName(
        "EnvironmentPool: environments from a frozen state started before the test asks, each fresh and the test's alone")
class EnvironmentPoolTests {
    /** The service: serves /www on 8080 once it has said so; the state has /www/index.html. */
    private static final String SERVICE = "sleep 0.2; echo serving; exec httpd -f -p 8080 -h /www";

    @TempDir
    static Path dir;

    static FrozenState state;

    @BeforeAll
    static void freeze() throws Exception {
        Path image = ServiceWaitTests.image(dir, "{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"" + SERVICE + "\"]}");
        try (IsolatedEnvironment setup =
                IsolatedEnvironment.builder().rootfs(image).start()) {
            assertThat(setup.exec("sh", "-c", "mkdir /www && echo frozen > /www/index.html"))
                    .succeeded();
            state = setup.freeze("v1");
        }
    }

    private static String get(IsolatedEnvironment env, String path) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", env.mappedPort(8080))) {
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return response.substring(0, response.indexOf("\r\n")) + " "
                    + response.substring(response.indexOf("\r\n\r\n") + 4);
        }
    }

    private static boolean running(long hostPid) {
        return Files.exists(Path.of("/proc/" + hostPid));
    }

    @Test
    @DisplayName(
            "a taken environment's service is ready at once; what one test writes, the next test's environment does not see")
    void readyAndFresh() throws Exception {
        try (EnvironmentPool pool = state.pool(2, b -> b.startImageCommand(Wait.forLogLine("serving")))) {
            assertThat(pool.ready()).isEqualTo(2);
            for (int test = 0; test < 4; test++) { // tests in a row, each taking its own
                try (IsolatedEnvironment env = pool.take()) {
                    assertThat(env.service().stdout()).isEqualTo("serving\n");
                    assertThat(env.service().isAlive()).isTrue();
                    assertThat(env.exec("sh", "-c", "ls /www; cat /www/index.html"))
                            .stdout()
                            .isEqualTo("index.html\nfrozen\n");
                    assertThat(env.exec(
                                    "sh", "-c", "echo " + test + " > /www/written && echo changed > /www/index.html"))
                            .succeeded();
                    assertThat(awaitGet(env, "/index.html")).contains(" 200 ").endsWith(" changed\n");
                }
            }
        }
    }

    /** httpd answers once it listens; the log line comes just before its exec. */
    private static String awaitGet(IsolatedEnvironment env, String path) throws Exception {
        env.awaitPort(8080);
        return get(env, path);
    }

    @Test
    @DisplayName(
            "JUnit tests of a class sharing a pool: none sees what another wrote, in any order; closed in @AfterAll")
    void testsOfAClass() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(PooledTestCase.class), 3);
        assertThat(PooledTestCase.pool.toString()).endsWith(", closed]");
        assertThat(PooledTestCase.inits).hasSize(3).doesNotHaveDuplicates().noneMatch(EnvironmentPoolTests::running);
    }

    static class PooledTestCase {
        static EnvironmentPool pool;
        static final List<Long> inits = new CopyOnWriteArrayList<>();

        @BeforeAll
        static void startPool() {
            pool = state.pool(2, b -> b.startImageCommand(Wait.forPort(8080)));
        }

        @org.junit.jupiter.api.AfterAll
        static void closePool() {
            pool.close();
        }

        @org.junit.jupiter.api.RepeatedTest(3)
        void writesItsOwnFile(org.junit.jupiter.api.RepetitionInfo repetition) {
            try (IsolatedEnvironment env = pool.take()) {
                inits.add(env.initHostPid());
                assertThat(env.exec("ls", "/www")).stdout().isEqualTo("index.html\n"); // no earlier test's file
                assertThat(env.exec(
                                "sh",
                                "-c",
                                "echo " + repetition.getCurrentRepetition() + " > /www/test-"
                                        + repetition.getCurrentRepetition()))
                        .succeeded();
            }
        }
    }

    @Test
    @DisplayName("environments taken at the same time are distinct: a write in one is not seen in the other")
    void takenTogetherAreDistinct() {
        try (EnvironmentPool pool = state.pool(1, b -> b.startImageCommand(Wait.forPort(8080)));
                IsolatedEnvironment a = pool.take();
                IsolatedEnvironment b = pool.take()) {
            assertThat(a.initHostPid()).isNotEqualTo(b.initHostPid());
            assertThat(a.exec("sh", "-c", "echo a > /www/only-a")).succeeded();
            assertThat(b.exec("ls", "/www")).stdout().isEqualTo("index.html\n");
        }
    }

    @Test
    @DisplayName("take() from six threads at once: six distinct environments, each with its service ready and its own "
            + "writes; none is left once the takers and the pool closed theirs")
    void takenFromThreadsAtOnce() throws Exception {
        int takers = 6;
        List<IsolatedEnvironment> taken = new CopyOnWriteArrayList<>();
        try (EnvironmentPool pool = state.pool(2, b -> b.startImageCommand(Wait.forPort(8080)))) {
            CountDownLatch go = new CountDownLatch(1);
            List<CompletableFuture<String>> answers = new ArrayList<>();
            for (int i = 0; i < takers; i++) {
                String mine = "taker-" + i;
                answers.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        go.await();
                        IsolatedEnvironment env = pool.take();
                        taken.add(env);
                        assertThat(env.exec("sh", "-c", "echo " + mine + " > /www/index.html"))
                                .succeeded();
                        return get(env, "/");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            go.countDown();
            for (int i = 0; i < takers; i++) {
                assertThat(answers.get(i).get(2, TimeUnit.MINUTES))
                        .contains(" 200 ")
                        .endsWith(" taker-" + i + "\n");
            }
        }
        assertThat(taken)
                .extracting(IsolatedEnvironment::initHostPid)
                .doesNotHaveDuplicates()
                .hasSize(takers);
        taken.forEach(IsolatedEnvironment::close);
        assertThat(taken).extracting(IsolatedEnvironment::initHostPid).noneMatch(EnvironmentPoolTests::running);
    }

    @Test
    @DisplayName(
            "close() closes the environments waiting and those still starting; one taken stays the caller's until it closes it")
    void closeLeavesNothing() {
        List<IsolatedEnvironment> started = new CopyOnWriteArrayList<>();
        EnvironmentPool pool = EnvironmentPool.of(3, () -> {
            IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .from(state)
                    .startImageCommand(Wait.forPort(8080))
                    .start();
            started.add(env);
            return env;
        });
        IsolatedEnvironment taken = pool.take();
        pool.close();
        pool.close(); // again: nothing

        assertThat(started)
                .hasSizeBetween(3, 4)
                .contains(taken); // 3 at first, perhaps the replacement of the taken one
        List<Long> inits = new ArrayList<>();
        for (IsolatedEnvironment env : started) {
            if (env != taken) {
                inits.add(env.initHostPid());
            }
        }
        assertThat(inits).noneMatch(EnvironmentPoolTests::running);
        assertThat(running(taken.initHostPid())).isTrue();
        assertThat(taken.exec("cat", "/www/index.html")).stdout().isEqualTo("frozen\n");
        taken.close();
        assertThat(running(taken.initHostPid())).isFalse();
        assertThatThrownBy(pool::take)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageMatching("The environment pool isolated-pool-\\d+ is closed");
    }

    @Test
    @DisplayName(
            "a start that fails is what take() throws, with the service's message; the next take gets the next start")
    void failedStart() {
        try (EnvironmentPool pool = state.pool(
                1, b -> b.startupTimeout(Duration.ofMillis(300)).startImageCommand(Wait.forLogLine("never printed")))) {
            assertThatThrownBy(pool::take)
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining("was not ready within 300 ms (the startup timeout)")
                    .hasMessageContaining("serving");
            assertThatThrownBy(pool::take).isInstanceOf(ServiceNotReadyException.class);
        }
    }

    @Test
    @DisplayName("ready must be at least 1; a stale state makes no pool")
    void badArguments() throws Exception {
        assertThatThrownBy(() -> EnvironmentPool.of(0, () -> null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("EnvironmentPool.of(0, ...): ready must be at least 1");
        assertThatThrownBy(() -> state.pool(0, b -> b))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("FrozenState.pool(0, ...): ready must be at least 1");
        FrozenState old = FrozenState.cached(
                "pool-stale",
                "1",
                () -> IsolatedEnvironment.builder().from(state).start());
        FrozenState.cached(
                "pool-stale",
                "2",
                () -> IsolatedEnvironment.builder().from(state).start());
        assertThatThrownBy(() -> old.pool(1, b -> b))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("The frozen state pool-stale is stale");
    }
}
