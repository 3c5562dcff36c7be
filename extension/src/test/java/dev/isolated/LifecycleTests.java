package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.suppressed;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("environment lifecycles")
class LifecycleTests {
    static final Set<Long> inits = ConcurrentHashMap.newKeySet();

    @Test
    @DisplayName("PER_CLASS: one environment for all methods and @Nested classes, closed after the class")
    void perClass() {
        inits.clear();
        EngineRunner.assertAllSucceeded(EngineRunner.run(PerClassTestCase.class), 3);

        assertThat(inits).hasSize(1);
        assertThat(Paths.get("/proc", Long.toString(inits.iterator().next()))).doesNotExist();
    }

    @Test
    @DisplayName("@ParameterizedTest and @RepeatedTest invocations each get a fresh environment")
    void templates() {
        inits.clear();
        EngineRunner.assertAllSucceeded(EngineRunner.run(TemplatesTestCase.class), 5);

        assertThat(inits).hasSize(5);
    }

    @Test
    @DisplayName("a @TestFactory's dynamic tests share the factory method's environment")
    void testFactory() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(FactoryTestCase.class), 2);
    }

    @Test
    @DisplayName("parameters annotated with @Isolated get environments of their own")
    void severalEnvironments() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(TwoEnvironmentsTestCase.class), 1);
    }

    @Test
    @DisplayName("a nested class's own annotation overrides the enclosing one")
    void nestedOverrides() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(NestedOverrideTestCase.class), 2);
    }

    @Test
    @DisplayName("the builder makes an environment closed by try-with-resources")
    void builder() {
        long init;
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .hostname("built")
                .namespaces(PID, MOUNT, UTS)
                .env("MODE", "test")
                .start()) {
            init = env.initHostPid();
            assertThat(env.exec("sh", "-c", "echo $MODE $(hostname)")).stdout().isEqualTo("test built\n");
        }
        assertThat(Paths.get("/proc", Long.toString(init))).doesNotExist();
    }

    @Test
    @DisplayName("after close() its processes have exited and every use of the environment throws "
            + "IllegalStateException at once, awaitPort too; what it was made with stays")
    void usedAfterClose(@TempDir Path tmp) {
        IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .awaitTimeout(Duration.ofSeconds(20)) // awaitPort used to wait this long, then time out
                .start();
        IsolatedProcess sleeping = env.start("sleep", "1000");
        Set<LinuxNamespace> namespaces = env.namespaces();
        long init = env.initHostPid();
        env.close();
        env.close();

        assertThat(sleeping.isAlive()).isFalse();
        ExecResult killed = sleeping.waitFor(Duration.ofSeconds(10));
        assertThat(killed).exitedWith(137);
        assertThat(killed.signal()).hasValue(9);
        String closed = "This isolated environment is closed: close() was called, or the extension closed it when its"
                + " test (with Lifecycle.PER_CLASS, its class) ended";
        Map<String, ThrowingCallable> uses = new LinkedHashMap<>();
        uses.put("exec", () -> env.exec("true"));
        uses.put("start", () -> env.start("true"));
        uses.put("execAsPid1", () -> env.execAsPid1("true"));
        uses.put("enter(MOUNT).exec", () -> env.enter(MOUNT).exec("true"));
        uses.put("processBuilder", () -> env.processBuilder("true"));
        uses.put("processes", env::processes);
        uses.put("mounts", env::mounts);
        uses.put("hostname", env::hostname);
        uses.put("setHostname", () -> env.setHostname("other"));
        uses.put("readString", () -> env.readString("/etc/passwd"));
        uses.put("writeString", () -> env.writeString("/tmp/x", "x"));
        uses.put("copyIn", () -> env.copyIn(tmp, "/tmp/in"));
        uses.put("copyOut", () -> env.copyOut("/etc/passwd", tmp.resolve("out")));
        uses.put("awaitFile", () -> env.awaitFile("/etc/passwd"));
        uses.put("awaitPort", () -> env.awaitPort(80));
        uses.put("mappedPort", () -> env.mappedPort(80));
        uses.put("exposeHostPort", () -> env.exposeHostPort(80));
        uses.put("resourceUsage", env::resourceUsage);
        uses.put("freeze", env::freeze);
        uses.forEach((name, use) -> assertThatThrownBy(use)
                .as(name)
                .isExactlyInstanceOf(IllegalStateException.class)
                .hasMessage(closed));
        assertThat(tmp.resolve("out")).doesNotExist();
        assertThat(env.namespaces()).isEqualTo(namespaces);
        assertThat(env.initHostPid()).isEqualTo(init);
    }

    @Test
    @DisplayName("an environment whose init was killed from outside says how it died at its next command")
    void initKilled() {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            long init = env.initHostPid();
            assertThat(ProcessHandle.of(init).orElseThrow().destroyForcibly()).isTrue();
            String died = "This isolated environment's init (host pid " + init + ") died: killed by signal 9"
                    + " (SIGKILL: killed from outside, e.g. kill -9 or the OOM killer)";
            Awaitility.await("the helper reports the init's death")
                    .atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThatThrownBy(() -> env.exec("true"))
                            .isInstanceOf(IsolatedException.class)
                            .hasMessage(died));
        }
    }

    @Test
    @DisplayName("a failing test's report carries its environment's commands, processes, mounts and hostname")
    void failureReport() {
        assertReport(
                FailingTestCase.class,
                m -> m.contains("[cat, /nope] -> exit 1")
                        && m.contains("No such file")
                        && m.contains("sleep 1000")
                        && m.contains("/proc proc")
                        && m.contains("Hostname: fails"));
    }

    @Test
    @DisplayName("the report lists the last 20 commands that ended, each with the last 400 characters of its output")
    void failureReportBounds() {
        assertReport(
                ManyCommandsTestCase.class,
                m -> m.contains("Commands (last 20):")
                        && !m.contains("[echo, 6] -> exit 0")
                        && m.contains("[echo, 7] -> exit 0")
                        && m.contains("stdout: ..." + "y".repeat(398) + "z\n")
                        && !m.contains("xy"));
    }

    /** Asserts that the test {@code fails} of {@code testCase} failed with a first suppressed report that matches. */
    private static void assertReport(Class<?> testCase, Predicate<String> report) {
        EngineRunner.run(testCase)
                .testEvents()
                .assertThatEvents()
                .haveExactly(1, event(test("fails"), finishedWithFailure(suppressed(0, message(report)))));
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class PerClassTestCase {
        @Test
        @Order(1)
        void first(IsolatedEnvironment env) {
            inits.add(env.initHostPid());
            assertThat(env.exec("touch", "/tmp/shared")).succeeded();
        }

        @Test
        @Order(2)
        void second(IsolatedEnvironment env) {
            inits.add(env.initHostPid());
            assertThat(env.exec("test", "-e", "/tmp/shared")).succeeded();
        }

        @Nested
        class Inner {
            @Test
            void nested(IsolatedEnvironment env) {
                inits.add(env.initHostPid());
                assertThat(env.exec("test", "-e", "/tmp/shared")).succeeded();
            }
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class TemplatesTestCase {
        @ParameterizedTest
        @ValueSource(strings = {"a", "b", "c"})
        void parameterized(String name, IsolatedEnvironment env) {
            inits.add(env.initHostPid());
            assertThat(env.exec("ls", "/tmp")).stdout().isEmpty();
            assertThat(env.exec("touch", "/tmp/" + name)).succeeded();
        }

        @RepeatedTest(2)
        void repeated(IsolatedEnvironment env) {
            inits.add(env.initHostPid());
            assertThat(env.exec("ls", "/tmp")).stdout().isEmpty();
            assertThat(env.exec("touch", "/tmp/x")).succeeded();
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class FactoryTestCase {
        @TestFactory
        Stream<DynamicTest> dynamic(IsolatedEnvironment env) {
            return Stream.of(
                    DynamicTest.dynamicTest("write", () -> env.writeString("/tmp/f", "x")),
                    DynamicTest.dynamicTest(
                            "read", () -> assertThat(env.readString("/tmp/f")).isEqualTo("x")));
        }
    }

    static class TwoEnvironmentsTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar", hostname = "client")
        void talk(IsolatedEnvironment client, @Isolated(hostname = "server") IsolatedEnvironment server) {
            assertThat(client.initHostPid()).isNotEqualTo(server.initHostPid());
            assertThat(client.exec("hostname")).stdout().isEqualTo("client\n");
            assertThat(server.exec("hostname")).stdout().isEqualTo("server\n");
            server.writeString("/tmp/only-on-server", "");
            assertThat(client.exec("test", "-e", "/tmp/only-on-server")).exitedWith(1);
        }
    }

    @Isolated(rootfs = "busybox.tar", hostname = "outer")
    static class NestedOverrideTestCase {
        @Test
        void outer(IsolatedEnvironment env) {
            assertThat(env).hostname().isEqualTo("outer");
        }

        @Nested
        @Isolated(
                hostname = "inner",
                namespaces = {PID, MOUNT, UTS, LinuxNamespace.NET})
        class Inner {
            @Test
            void inner(IsolatedEnvironment env) {
                assertThat(env).hostname().isEqualTo("inner");
                assertThat(env.namespaces()).contains(LinuxNamespace.NET);
            }
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class ManyCommandsTestCase {
        @Test
        void fails(IsolatedEnvironment env) {
            for (int i = 1; i <= 24; i++) {
                env.exec("echo", Integer.toString(i));
            }
            env.exec("sh", "-c", "printf x; printf 'y%.0s' $(seq 500); echo z"); // 502 characters: the x is cut off
            assertThat(env.exec("false")).succeeded();
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class FailingTestCase {
        @Test
        void fails(IsolatedEnvironment env) {
            env.start("sleep", "1000");
            assertThat(env.exec("cat", "/nope")).succeeded();
        }
    }
}
