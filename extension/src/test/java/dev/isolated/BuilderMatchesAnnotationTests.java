package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.USER;
import static dev.isolated.LinuxNamespace.UTS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.internal.env.Environment;
import dev.isolated.internal.env.EnvironmentSpec;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The annotations and the builder are one configuration path: the same settings, written with the annotations'
 * names on either side, give the same spec, so the helper gets the same CREATE.
 */
@DisplayName("the builder's names are the annotations', and both give one spec")
class BuilderMatchesAnnotationTests {

    @Test
    @DisplayName("@Isolated, @Limits, @Bind, @Tmpfs and @ClockOffsets give the spec their builder methods give")
    void sameSpec() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(AnnotatedTestCase.class), 1);
    }

    @Test
    @DisplayName("the deprecated names give what the new ones give")
    void deprecatedNames() {
        Path source = Path.of("src/test");
        @SuppressWarnings("removal")
        EnvironmentSpec old = IsolatedEnvironment.builder()
                .memoryLimit(1 << 20)
                .pidsLimit(9)
                .cpuLimit(20)
                .rlimit("nofile", 64)
                .rlimit("nproc", 100)
                .bind(source, "/ro", true)
                .bind(source, "/rw", false)
                .spec(Path.of("/rootfs"), dev.isolated.image.ImageConfig.EMPTY);
        EnvironmentSpec current = IsolatedEnvironment.builder()
                .memoryBytes(1 << 20)
                .pids(9)
                .cpuPercent(20)
                .openFiles(64)
                .rlimit(Rlimit.NPROC, 100)
                .bind(source, "/ro")
                .bindWritable(source, "/rw")
                .spec(Path.of("/rootfs"), dev.isolated.image.ImageConfig.EMPTY);
        assertThat(old).isEqualTo(current);
    }

    @Test
    @DisplayName("0 sets no rlimit, as in @Limits (openFiles = 0 keeps the inherited limit)")
    void zeroSetsNoRlimit() {
        EnvironmentSpec spec = IsolatedEnvironment.builder()
                .openFiles(256)
                .openFiles(0)
                .fileSizeBytes(0)
                .cpuSeconds(0)
                .spec(Path.of("/rootfs"), dev.isolated.image.ImageConfig.EMPTY);
        assertThat(spec.options().rlimits()).isEmpty();
        assertThat(IsolatedEnvironment.builder()
                        .openFiles(256)
                        .cpuSeconds(5)
                        .spec(Path.of("/rootfs"), dev.isolated.image.ImageConfig.EMPTY)
                        .options()
                        .rlimits())
                .containsExactly(
                        org.assertj.core.api.Assertions.entry("nofile", 256L),
                        org.assertj.core.api.Assertions.entry("cpu", 5L));
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, NET},
            hostname = "spec",
            readOnlyRootfs = true,
            capabilities = Capabilities.ALL,
            env = "LANG=C.UTF-8",
            workingDirectory = "/tmp",
            user = "0:0")
    @Limits(
            memoryBytes = 64 << 20,
            pids = 50,
            cpuPercent = 50,
            openFiles = 256,
            fileSizeBytes = 1 << 20,
            cpuSeconds = 30)
    @Bind(source = "src/test", target = "/fixtures")
    @Bind(source = "target", target = "/out", readOnly = false)
    @Tmpfs(target = "/scratch", sizeBytes = 1 << 20)
    @ClockOffsets(boottimeSeconds = 86400)
    static class AnnotatedTestCase {
        @Test
        void test(IsolatedEnvironment env) {
            EnvironmentSpec fromAnnotations = ((Environment) env).spec();
            EnvironmentSpec fromBuilder = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .namespaces(PID, MOUNT, UTS, NET)
                    .hostname("spec")
                    .readOnlyRootfs(true)
                    .capabilities(Capabilities.ALL)
                    .env("LANG", "C.UTF-8")
                    .workingDirectory("/tmp")
                    .user("0:0")
                    .memoryBytes(64 << 20)
                    .pids(50)
                    .cpuPercent(50)
                    .openFiles(256)
                    .fileSizeBytes(1 << 20)
                    .cpuSeconds(30)
                    .trackResources(true) // as @Limits with a cgroup limit does
                    .bind(Path.of("src/test"), "/fixtures")
                    .bindWritable(Path.of("target"), "/out")
                    .tmpfs("/scratch", 1 << 20)
                    .clockOffsets(0, 86400)
                    .spec(fromAnnotations.rootfs(), fromAnnotations.image());
            assertThat(fromAnnotations).isEqualTo(fromBuilder);
            assertThat(env.namespaces())
                    .as("as the helper reports them: USER added, TIME for the offset")
                    .containsExactlyInAnyOrder(PID, MOUNT, UTS, NET, USER, LinuxNamespace.TIME);
        }
    }

    @Test
    @DisplayName("a negative limit is refused naming it, by the builder and by @Limits, instead of limiting nothing")
    void negativeLimits() {
        java.util.Map<String, Runnable> calls = new java.util.LinkedHashMap<>();
        calls.put("memoryBytes(-5)", () -> IsolatedEnvironment.builder().memoryBytes(-5));
        calls.put("pids(-1)", () -> IsolatedEnvironment.builder().pids(-1));
        calls.put("cpuPercent(-50)", () -> IsolatedEnvironment.builder().cpuPercent(-50));
        calls.put("openFiles(-3)", () -> IsolatedEnvironment.builder().openFiles(-3));
        calls.put("fileSizeBytes(-1)", () -> IsolatedEnvironment.builder().fileSizeBytes(-1));
        calls.put("cpuSeconds(-2)", () -> IsolatedEnvironment.builder().cpuSeconds(-2));
        calls.forEach((call, runnable) -> org.assertj.core.api.Assertions.assertThatThrownBy(runnable::run)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("IsolatedEnvironmentBuilder." + call + ": a limit is 0 (none) or more"));

        EngineRunner.run(NegativeLimitsTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        org.junit.platform.testkit.engine.EventConditions.event(
                                org.junit.platform.testkit.engine.EventConditions.test("pids"),
                                org.junit.platform.testkit.engine.EventConditions.finishedWithFailure(
                                        org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf(
                                                org.junit.jupiter.api.extension.ExtensionConfigurationException.class),
                                        org.junit.platform.testkit.engine.TestExecutionResultConditions.message(
                                                "@Limits(pids = -1): a limit is 0 (none) or more"))))
                .haveExactly(
                        1,
                        org.junit.platform.testkit.engine.EventConditions.event(
                                org.junit.platform.testkit.engine.EventConditions.test("openFiles"),
                                org.junit.platform.testkit.engine.EventConditions.finishedWithFailure(
                                        org.junit.platform.testkit.engine.TestExecutionResultConditions.message(
                                                "@Limits(openFiles = -3): a limit is 0 (none) or more"))));
        assertThat(NegativeLimitsTestCase.bodiesRun).as("no test body ran").isZero();
    }

    @Test
    @DisplayName("a negative tmpfs size is refused naming it, by the builder and by @Tmpfs, before anything is made")
    void negativeTmpfsSize() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> IsolatedEnvironment.builder().tmpfs("/cache", -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("IsolatedEnvironmentBuilder.tmpfs(/cache, -1): a size is 0 (the kernel's default) or more");

        EngineRunner.run(NegativeTmpfsTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        org.junit.platform.testkit.engine.EventConditions.event(
                                org.junit.platform.testkit.engine.EventConditions.test("negative"),
                                org.junit.platform.testkit.engine.EventConditions.finishedWithFailure(
                                        org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf(
                                                org.junit.jupiter.api.extension.ExtensionConfigurationException.class),
                                        org.junit.platform.testkit.engine.TestExecutionResultConditions.message(
                                                "@Tmpfs(target = \"/cache\", sizeBytes = -4096): a size is 0 (the "
                                                        + "kernel's default) or more"))));
        assertThat(NegativeTmpfsTestCase.bodiesRun).as("no test body ran").isZero();
    }

    static class NegativeTmpfsTestCase {
        static int bodiesRun;

        @Test
        @Isolated(rootfs = "busybox.tar")
        @Tmpfs(target = "/cache", sizeBytes = -4096)
        void negative(IsolatedEnvironment env) {
            bodiesRun++;
        }
    }

    static class NegativeLimitsTestCase {
        static int bodiesRun;

        @Test
        @Isolated(rootfs = "busybox.tar")
        @Limits(pids = -1)
        void pids(IsolatedEnvironment env) {
            bodiesRun++;
        }

        @Test
        @Isolated(rootfs = "busybox.tar")
        @Limits(openFiles = -3)
        void openFiles(IsolatedEnvironment env) {
            bodiesRun++;
        }
    }
}
