package dev.isolated;

import static dev.isolated.LinuxNamespace.IPC;
import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;

/** An {@code @Isolated} on a method, a {@code @Nested} class or a parameter adds to the enclosing ones. */
@DisplayName("@Isolated on a method, nested class or parameter")
class AnnotationMergeTests {

    @Test
    @DisplayName("a method that only asks for a read-only rootfs keeps the class's namespaces (NET) and rootfs")
    void methodAddsToTheClass() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(MethodTestCase.class), 1);
    }

    @Test
    @DisplayName(
            "a @Nested class's annotation keeps the outer class's namespaces and hostname, per method and per class")
    void nestedAddsToTheOuterClass() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(NestedTestCase.class), 2);
    }

    @Test
    @DisplayName("a parameter's annotation keeps the method's and class's attributes it does not set")
    void parameterAddsToTheMethod() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(ParameterTestCase.class), 1);
    }

    @Test
    @DisplayName(
            "@Bind, @Tmpfs, @Limits, @ClockOffsets and @WritableLayer on a superclass apply to its subclasses' tests, as "
                    + "@Isolated does; the subclass's own @Limits replaces the superclass's, its @Bind adds to it")
    void superclassAnnotations() throws Exception {
        java.nio.file.Path base = java.nio.file.Path.of("target/inherited-bind/base");
        java.nio.file.Path sub = java.nio.file.Path.of("target/inherited-bind/sub");
        java.nio.file.Files.createDirectories(base);
        java.nio.file.Files.createDirectories(sub);
        java.nio.file.Files.writeString(base.resolve("marker"), "from the superclass\n");
        java.nio.file.Files.writeString(sub.resolve("marker"), "from the subclass\n");

        EngineRunner.assertAllSucceeded(EngineRunner.run(InheritingTestCase.class), 1);
    }

    @Isolated(rootfs = "busybox.tar")
    @Bind(source = "target/inherited-bind/base", target = "/base")
    @Tmpfs(target = "/scratch", sizeBytes = 1 << 20)
    @Limits(openFiles = 77, fileSizeBytes = 1 << 20)
    @ClockOffsets(boottimeSeconds = 30 * 86400)
    @WritableLayer(tmpfsSize = "8m")
    abstract static class AnnotatedBaseTestCase {}

    @Bind(source = "target/inherited-bind/sub", target = "/sub")
    @Limits(openFiles = 99)
    static class InheritingTestCase extends AnnotatedBaseTestCase {
        @Test
        void test(IsolatedEnvironment env) throws Exception {
            assertThat(env.exec("cat", "/base/marker", "/sub/marker").stdout())
                    .isEqualTo("from the superclass\nfrom the subclass\n");
            assertThat(env.exec("sh", "-c", "grep ' /scratch ' /proc/self/mountinfo")
                            .stdout())
                    .contains(" tmpfs ")
                    .contains("size=1024k");
            assertThat(env.exec("sh", "-c", "ulimit -n; ulimit -f").stdout())
                    .as("the subclass's @Limits replaces the superclass's: no file size limit")
                    .isEqualTo("99\nunlimited\n");
            double host = Double.parseDouble(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/uptime"))
                    .split(" ")[0]);
            double inside =
                    Double.parseDouble(env.exec("cat", "/proc/uptime").stdout().split(" ")[0]);
            assertThat(inside - host).isBetween(30 * 86400.0 - 5, 30 * 86400.0 + 5);
            assertThat(env.exec("df", "-k", "/")
                            .stdout()
                            .lines()
                            .skip(1)
                            .findFirst()
                            .orElseThrow())
                    .matches("\\S+\\s+8192\\s.*");
        }
    }

    @Test
    @DisplayName("lifecycle on a method or parameter is refused: it is read from classes only")
    void lifecycleOnAMethod() {
        EngineRunner.run(LifecycleOnMethodTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("test"),
                                finishedWithFailure(
                                        instanceOf(ExtensionConfigurationException.class),
                                        message(
                                                "@Isolated(lifecycle = PER_CLASS) on method test: lifecycle is read from classes only; put it "
                                                        + "on the class"))));
    }

    @Test
    @DisplayName("rootfs and image on one annotation are refused, naming both")
    void rootfsAndImage() {
        EngineRunner.run(RootfsAndImageTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("test"),
                                finishedWithFailure(
                                        instanceOf(ExtensionConfigurationException.class),
                                        message(
                                                "@Isolated(rootfs = \"busybox.tar\", image = \"busybox:1\") gives both rootfs and image; give one: "
                                                        + "rootfs names a file, directory or resource, image names an image in a registry"))));
    }

    @Test
    @DisplayName(
            "a method's rootfs replaces its class's image: rootfs and image are one attribute, the innermost decides")
    void rootfsReplacesImage() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(RootfsReplacesImageTestCase.class), 1);
    }

    @Test
    @DisplayName("@Bind, @Tmpfs, @Limits or @ClockOffsets on a method of a PER_CLASS class are refused, not ignored")
    void mountsOnAMethodOfAPerClassEnvironment() {
        EngineRunner.run(PerClassTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("test"),
                                finishedWithFailure(
                                        instanceOf(ExtensionConfigurationException.class),
                                        message(
                                                "@Tmpfs on method test cannot apply: its tests run in the PER_CLASS environment of "
                                                        + "PerClassTestCase, made before them. Put it on PerClassTestCase, or give the method an "
                                                        + "environment of its own with @Isolated."))));
    }

    static void assertPrivateNetworkAndReadOnly(IsolatedEnvironment env) {
        assertThat(env.namespaces()).contains(PID, MOUNT, UTS, IPC, NET);
        assertThat(env.exec("ip", "-o", "link").stdoutLines())
                .as("NET: only lo")
                .singleElement()
                .satisfies(line -> assertThat(line).startsWith("1: lo:"));
        assertThat(env.exec("touch", "/written")).failed().stderr().contains("Read-only file system");
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, IPC, NET})
    static class MethodTestCase {
        @Test
        @Isolated(readOnlyRootfs = true)
        void test(IsolatedEnvironment env) {
            assertPrivateNetworkAndReadOnly(env);
        }
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, IPC, NET},
            hostname = "outer")
    static class NestedTestCase {
        @Nested
        @Isolated(readOnlyRootfs = true)
        class PerMethod {
            @Test
            void test(IsolatedEnvironment env) {
                assertPrivateNetworkAndReadOnly(env);
                assertThat(env).hostname().isEqualTo("outer");
            }
        }

        @Nested
        @Isolated(readOnlyRootfs = true, lifecycle = Isolated.Lifecycle.PER_CLASS)
        class PerClass {
            @Test
            void test(IsolatedEnvironment env) {
                assertPrivateNetworkAndReadOnly(env);
                assertThat(env).hostname().isEqualTo("outer");
            }
        }
    }

    static class LifecycleOnMethodTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
        void test(IsolatedEnvironment env) {}
    }

    static class RootfsAndImageTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar", image = "busybox:1")
        void test(IsolatedEnvironment env) {}
    }

    /** The class's image is never pulled: nothing contacts a registry. */
    @Isolated(image = "isolated-test/never-pulled:1")
    static class RootfsReplacesImageTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar")
        void test(IsolatedEnvironment env) {
            assertThat(env.exec("ls", "/bin/busybox")).succeeded();
        }
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class PerClassTestCase {
        @Test
        @Tmpfs(target = "/scratch")
        void test(IsolatedEnvironment env) {}
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, IPC, NET})
    static class ParameterTestCase {
        @Test
        @Isolated(readOnlyRootfs = true)
        void test(IsolatedEnvironment env, @Isolated(hostname = "server") IsolatedEnvironment server) {
            assertPrivateNetworkAndReadOnly(server);
            assertThat(server).hostname().isEqualTo("server");
            assertThat(server.initHostPid()).isNotEqualTo(env.initHostPid());
        }
    }

    @Test
    @DisplayName("a method's @Limits replaces its class's, which applies to the class's other methods")
    void methodLimitsReplaceClassLimits() {
        // here, not in ResourceLimitTests, which also runs where the cgroup is not delegated (CgroupV2HostTests)
        EngineRunner.assertAllSucceeded(EngineRunner.run(ClassLimitsCase.class), 2);
    }

    @Isolated(rootfs = "busybox.tar")
    @Limits(openFiles = 77, pids = 20)
    static class ClassLimitsCase {
        @Test
        void classLimits(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "ulimit -n")).stdout().isEqualTo("77\n");
            assertThat(env.resourceUsage().processes()).isPositive();
        }

        @Test
        @Limits(openFiles = 33)
        void methodLimits(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "ulimit -n")).stdout().isEqualTo("33\n");
            org.assertj.core.api.Assertions.assertThatThrownBy(env::resourceUsage)
                    .as("the class's pids limit is replaced, not merged: no cgroup limit is left to count")
                    .isInstanceOf(IllegalStateException.class);
        }
    }
}
