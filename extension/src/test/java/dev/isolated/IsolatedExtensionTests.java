package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.USER;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.platform.testkit.engine.EngineExecutionResults;

@DisplayName("@Isolated")
class IsolatedExtensionTests {

    @Test
    @DisplayName("gives each test method a fresh environment and closes it after the test")
    void freshEnvironmentPerMethod() {
        FreshPerMethodTestCase.initPids.clear();

        EngineExecutionResults results = EngineRunner.run(FreshPerMethodTestCase.class);

        results.testEvents().assertStatistics(s -> s.started(2).succeeded(2));
        assertThat(FreshPerMethodTestCase.initPids).hasSize(2).doesNotHaveDuplicates();
        for (long pid : FreshPerMethodTestCase.initPids) {
            assertThat(Paths.get("/proc", Long.toString(pid)))
                    .as("init of a closed environment")
                    .doesNotExist();
        }
    }

    @Test
    @DisplayName("lets a method's annotation set the namespaces, keeping the class's rootfs")
    void methodAnnotationWins() {
        EngineRunner.run(MethodWinsTestCase.class)
                .testEvents()
                .assertStatistics(s -> s.started(2).succeeded(2));
    }

    @Test
    @DisplayName("applies an enclosing class's annotation to @Nested tests")
    void nestedInherits() {
        EngineRunner.run(NestedTestCase.class)
                .testEvents()
                .assertStatistics(s -> s.started(1).succeeded(1));
    }

    @Test
    @DisplayName("injects the same environment into @BeforeEach and the test")
    void beforeEachSeesTheTestsEnvironment() {
        EngineRunner.run(BeforeEachTestCase.class)
                .testEvents()
                .assertStatistics(s -> s.started(1).succeeded(1));
    }

    @Test
    @DisplayName("takes the rootfs from the isolated.rootfs configuration parameter when no annotation names one")
    void rootfsFromConfiguration() {
        EngineRunner.run(NoRootfsTestCase.class, Map.of(Isolated.DEFAULT_ROOTFS_PROPERTY, "busybox.tar"))
                .testEvents()
                .assertStatistics(s -> s.started(1).succeeded(1));
    }

    @Test
    @DisplayName("takes the default namespaces from isolated.namespaces, for annotations that keep the default")
    void namespacesFromConfiguration() {
        EngineRunner.assertAllSucceeded(
                EngineRunner.run(
                        ConfiguredNamespacesTestCase.class,
                        Map.of(Isolated.DEFAULT_NAMESPACES_PROPERTY, "pid, mount, net")),
                1);
    }

    @Nested
    @DisplayName("reports failure")
    class Failures {

        @Test
        @DisplayName("when the rootfs cannot be found, listing the places it looked")
        void missingRootfs() {
            EngineRunner.run(MissingRootfsTestCase.class)
                    .testEvents()
                    .assertThatEvents()
                    .haveExactly(
                            1,
                            event(
                                    test("test"),
                                    finishedWithFailure(
                                            instanceOf(dev.isolated.image.ImageException.class),
                                            message(m -> m.startsWith("Image 'no-such-image.tar' not found. Tried:\n")
                                                    && m.contains("class path")
                                                    && m.contains(Paths.get("no-such-image.tar")
                                                            .toAbsolutePath()
                                                            .toString())))));
        }

        @Test
        @DisplayName("when no rootfs is named anywhere, saying how to name one")
        void noRootfs() {
            EngineRunner.run(NoRootfsTestCase.class)
                    .testEvents()
                    .assertThatEvents()
                    .haveExactly(
                            1,
                            event(
                                    test("test"),
                                    finishedWithFailure(
                                            instanceOf(ExtensionConfigurationException.class),
                                            message("@Isolated on test(IsolatedEnvironment) names no rootfs: write "
                                                    + "@Isolated(rootfs = \"busybox.tar\") (the isolated-images "
                                                    + "artifact has busybox.tar and hello.tar) or @Isolated(image = "
                                                    + "\"name:tag\") (an image from a registry), or set the "
                                                    + "configuration parameter isolated.rootfs in "
                                                    + "junit-platform.properties"))));
        }

        @Test
        @DisplayName("when an environment is asked for where there is none, such as a constructor")
        void parameterOutsideATestMethod() {
            EngineRunner.run(ConstructorParameterTestCase.class)
                    .testEvents()
                    .assertThatEvents()
                    .haveExactly(
                            1,
                            event(
                                    test("test"),
                                    finishedWithFailure(
                                            instanceOf(ParameterResolutionException.class),
                                            message(m -> m.contains("environments are made per test method")))));
        }

        @Test
        @DisplayName(
                "when isolated.namespaces names an unknown namespace, listing the known ones, as the README quotes")
        void unknownNamespace() {
            EngineRunner.run(
                            ConfiguredNamespacesTestCase.class,
                            Map.of(Isolated.DEFAULT_NAMESPACES_PROPERTY, "pid,wormhole"))
                    .testEvents()
                    .assertThatEvents()
                    .haveExactly(
                            1,
                            event(
                                    test("test"),
                                    finishedWithFailure(
                                            instanceOf(ExtensionConfigurationException.class),
                                            message("isolated.namespaces=pid,wormhole: Unknown namespace 'wormhole': "
                                                    + "use one of [PID, MOUNT, UTS, IPC, NET, USER, CGROUP, TIME]"))));
        }

        @Test
        @DisplayName("when a hostname is asked for without a UTS namespace")
        void hostnameWithoutUts() {
            EngineRunner.run(HostnameWithoutUtsTestCase.class)
                    .testEvents()
                    .assertThatEvents()
                    .haveExactly(
                            1,
                            event(
                                    test("test"),
                                    finishedWithFailure(message(m -> m.contains("needs the UTS namespace")))));
        }
    }

    @Isolated(rootfs = "busybox.tar")
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class FreshPerMethodTestCase {
        static final List<Long> initPids = new CopyOnWriteArrayList<>();

        @Test
        @Order(1)
        void first(IsolatedEnvironment env) {
            initPids.add(env.initHostPid());
            assertThat(env.exec("touch", "/left-by-first")).succeeded();
        }

        @Test
        @Order(2)
        void second(IsolatedEnvironment env) {
            initPids.add(env.initHostPid());
            assertThat(env.exec("test", "-e", "/left-by-first")).exitedWith(1);
        }
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS})
    static class MethodWinsTestCase {
        @Test
        void classNamespaces(IsolatedEnvironment env) {
            assertThat(env.namespaces()).containsExactlyInAnyOrder(PID, MOUNT, UTS, USER);
        }

        @Test
        @Isolated(namespaces = {PID, MOUNT, NET})
        void methodNamespaces(IsolatedEnvironment env) {
            assertThat(env.namespaces()).containsExactlyInAnyOrder(PID, MOUNT, NET, USER);
            assertThat(env.exec("ip", "-o", "link").stdoutLines()).hasSize(1);
        }
    }

    @Isolated(rootfs = "busybox.tar", hostname = "outer")
    static class NestedTestCase {
        @Nested
        class Inner {
            @Test
            void test(IsolatedEnvironment env) {
                assertThat(env).hostname().isEqualTo("outer");
            }
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class BeforeEachTestCase {
        private IsolatedEnvironment before;

        @BeforeEach
        void prepare(IsolatedEnvironment env) {
            before = env;
            assertThat(env.exec("sh", "-c", "echo prepared > /tmp/fixture")).succeeded();
        }

        @Test
        void test(IsolatedEnvironment env) {
            assertThat(env).isSameAs(before);
            assertThat(env.exec("cat", "/tmp/fixture")).stdout().isEqualTo("prepared\n");
        }
    }

    static class MissingRootfsTestCase {
        @Test
        @Isolated(rootfs = "no-such-image.tar")
        void test(IsolatedEnvironment env) {}
    }

    static class NoRootfsTestCase {
        @Test
        @Isolated
        void test(IsolatedEnvironment env) {
            assertThat(env.exec("true")).succeeded();
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class ConstructorParameterTestCase {
        ConstructorParameterTestCase(IsolatedEnvironment env) {}

        @Test
        void test() {}
    }

    @Isolated(rootfs = "busybox.tar")
    static class ConfiguredNamespacesTestCase {
        @Test
        void test(IsolatedEnvironment env) {
            assertThat(env.namespaces()).containsExactlyInAnyOrder(PID, MOUNT, NET, USER);
            assertThat(env.exec("ip", "-o", "link").stdoutLines()).hasSize(1);
        }
    }

    static class HostnameWithoutUtsTestCase {
        @Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {PID, MOUNT},
                hostname = "nope")
        void test(IsolatedEnvironment env) {}
    }
}
