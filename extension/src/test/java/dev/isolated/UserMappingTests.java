package dev.isolated;

import static dev.isolated.Namespace.MOUNT;
import static dev.isolated.Namespace.PID;
import static dev.isolated.Namespace.USER;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("userMapping: who the user running the tests is inside the user namespace")
class UserMappingTests {
    static final String NOBODY = NobodyJvm.NOBODY;

    @Test
    @DisplayName("SELF as root: root keeps uid 0 inside its user namespace")
    void selfAsRoot() {
        assertThat(IsolatedSettings.isRoot()).as("this test runs as root, as CI does").isTrue();
        try (IsolatedEnvironment env = IsolatedEnvironment.builder().rootfs("busybox.tar").namespaces(USER, PID, MOUNT)
                .userMapping(UserMapping.SELF).start()) {
            assertThat(env.exec("id", "-u")).succeeded().stdout().isEqualTo("0\n");
        }
    }

    @Test
    @DisplayName("SELF run by uid 65534 (a child JVM): id -u prints 65534, through the annotation and the builder")
    void selfAsNobody(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = NobodyJvm.runFixture(dir, SelfTestCase.class);

        assertThat(lines).hasSize(2).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class SelfTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar", namespaces = {PID, MOUNT}, userMapping = UserMapping.SELF)
        void annotation(IsolatedEnvironment env) {
            assertThat(env.exec("id", "-u")).succeeded().stdout().isEqualTo(NOBODY + "\n");
        }

        @Test
        void builder() {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder().rootfs("busybox.tar").namespaces(PID, MOUNT)
                    .userMapping(UserMapping.SELF).start()) {
                assertThat(env.exec("sh", "-c", "id -u; touch /tmp/mine && stat -c %u /tmp/mine")).succeeded()
                        .stdout().isEqualTo(NOBODY + "\n" + NOBODY + "\n");
            }
        }
    }

    // The class path copied where uid 65534 can read it (as RootlessTests does).
}
