package dev.isolated;

import static dev.isolated.Namespace.IPC;
import static dev.isolated.Namespace.MOUNT;
import static dev.isolated.Namespace.NET;
import static dev.isolated.Namespace.PID;
import static dev.isolated.Namespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** An {@code @Isolated} on a method, a {@code @Nested} class or a parameter adds to the enclosing ones. */
@DisplayName("@Isolated on a method, nested class or parameter")
class AnnotationMergeTests {

    @Test
    @DisplayName("a method that only asks for a read-only rootfs keeps the class's namespaces (NET) and rootfs")
    void methodAddsToTheClass() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(MethodTestCase.class), 1);
    }

    @Test
    @DisplayName("a @Nested class's annotation keeps the outer class's namespaces and hostname, per method and per class")
    void nestedAddsToTheOuterClass() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(NestedTestCase.class), 2);
    }

    @Test
    @DisplayName("a parameter's annotation keeps the method's and class's attributes it does not set")
    void parameterAddsToTheMethod() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(ParameterTestCase.class), 1);
    }

    static void assertPrivateNetworkAndReadOnly(IsolatedEnvironment env) {
        assertThat(env.namespaces()).contains(PID, MOUNT, UTS, IPC, NET);
        assertThat(env.exec("ip", "-o", "link").stdoutLines()).as("NET: only lo").singleElement()
                .satisfies(line -> assertThat(line).startsWith("1: lo:"));
        assertThat(env.exec("touch", "/written")).failed().stderr().contains("Read-only file system");
    }

    @Isolated(rootfs = "busybox.tar", namespaces = {PID, MOUNT, UTS, IPC, NET})
    static class MethodTestCase {
        @Test
        @Isolated(readOnlyRootfs = true)
        void test(IsolatedEnvironment env) {
            assertPrivateNetworkAndReadOnly(env);
        }
    }

    @Isolated(rootfs = "busybox.tar", namespaces = {PID, MOUNT, UTS, IPC, NET}, hostname = "outer")
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

    @Isolated(rootfs = "busybox.tar", namespaces = {PID, MOUNT, UTS, IPC, NET})
    static class ParameterTestCase {
        @Test
        @Isolated(readOnlyRootfs = true)
        void test(IsolatedEnvironment env, @Isolated(hostname = "server") IsolatedEnvironment server) {
            assertPrivateNetworkAndReadOnly(server);
            assertThat(server).hostname().isEqualTo("server");
            assertThat(server.initHostPid()).isNotEqualTo(env.initHostPid());
        }
    }
}
