package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.USER;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.internal.helper.TemporarySubIds;
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
    @DisplayName("SELF as root: uid 0 inside, as ROOT, which is the environment's range on the host, never host root")
    void selfAsRoot() {
        assertThat(new com.sun.security.auth.module.UnixSystem().getUid() == 0)
                .as("this test runs as root, as CI does")
                .isTrue();
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(USER, PID, MOUNT)
                .userMapping(UserMapping.SELF)
                .start()) {
            assertThat(env.exec("id", "-u")).succeeded().stdout().isEqualTo("0\n");
            assertThat(env.exec("cat", "/proc/self/uid_map"))
                    .succeeded()
                    .stdout()
                    .doesNotMatch("\\s*0\\s+0\\s.*\n");
        }
    }

    @Test
    @DisplayName("as root an id above 65535 is mapped by no userMapping: the message says so, and with SUBIDS does not "
            + "send the user to SUBIDS")
    void idOutsideTheRange() {
        for (UserMapping mapping : UserMapping.values()) {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .userMapping(mapping)
                    .start()) {
                assertThat(env.exec(Command.of("id", "-u").withUser(65535, 65535)))
                        .succeeded()
                        .stdout()
                        .isEqualTo("65535\n");
                org.assertj.core.api.Assertions.assertThatThrownBy(
                                () -> env.exec(Command.of("id").withUser(70000, 70000)))
                        .isInstanceOf(IsolatedException.class)
                        .hasMessage("Command [id] cannot run as 70000:70000: gid 70000 is not mapped in the "
                                + "environment's user namespace (setresgid: EINVAL). "
                                + (mapping == UserMapping.SUBIDS
                                        ? "userMapping = SUBIDS maps 0 and the ids 1 up to the size of the tests' "
                                                + "user's ranges in /etc/subuid and /etc/subgid (as root, 0 to 65535): "
                                                + "give an id within them, or that user larger ranges"
                                        : "Run rootless, userMapping ROOT and SELF map one id only (0, or the tests' "
                                                + "own uid); other users need userMapping = SUBIDS (@Isolated(userMapping"
                                                + " = SUBIDS), builder().userMapping(UserMapping.SUBIDS)) and a range in "
                                                + "/etc/subuid and /etc/subgid; as root every userMapping maps 0 to "
                                                + "65535"));
            }
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
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {PID, MOUNT},
                userMapping = UserMapping.SELF)
        void annotation(IsolatedEnvironment env) {
            assertThat(env.exec("id", "-u")).succeeded().stdout().isEqualTo(NOBODY + "\n");
        }

        @Test
        void builder() {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .namespaces(PID, MOUNT)
                    .userMapping(UserMapping.SELF)
                    .start()) {
                assertThat(env.exec("sh", "-c", "id -u; touch /tmp/mine && stat -c %u /tmp/mine"))
                        .succeeded()
                        .stdout()
                        .isEqualTo(NOBODY + "\n" + NOBODY + "\n");
                assertThat(env.exec("grep", "^CapEff:", "/proc/self/status"))
                        .as("commands have no capabilities with SELF")
                        .succeeded()
                        .stdout()
                        .isEqualTo("CapEff:\t0000000000000000\n");
            }
        }
    }

    @Test
    @DisplayName(
            "ROOT run by uid 65534 (a child JVM): root inside chowns to 0; mounting takes capabilities = ALL, as for real root")
    void rootAsNobody(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = NobodyJvm.runFixture(dir, RootTestCase.class);

        assertThat(lines).hasSize(1).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class RootTestCase {
        @Test
        void rootMountsOnlyWithAllCapabilities() {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .userMapping(UserMapping.ROOT)
                    .start()) {
                assertThat(env.exec("sh", "-c", "id -u; touch /tmp/f && chown 0:0 /tmp/f && stat -c %u:%g /tmp/f"))
                        .succeeded()
                        .stdout()
                        .isEqualTo("0\n0:0\n");
                assertThat(env.exec("mount", "-t", "tmpfs", "t", "/tmp"))
                        .as("Docker's default capabilities: no mount")
                        .failed();
            }
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .userMapping(UserMapping.ROOT)
                    .capabilities(Capabilities.ALL)
                    .start()) {
                assertThat(env.exec("mount", "-t", "tmpfs", "t", "/tmp")).succeeded();
            }
        }
    }

    @Test
    @DisplayName(
            "SUBIDS run by uid 65534 without a range: fails at once, naming /etc/subuid and the line to add; aborted with skipIfUnsupported")
    void subidsWithoutRange(@TempDir Path dir) throws Exception {
        List<List<String>> runs = TemporarySubIds.during(
                TemporarySubIds.without("nobody", "65534"),
                () -> List.of(
                        NobodyJvm.runFixture(NobodyJvm.runDirectory(dir, "a"), SubidsTestCase.class, List.of()),
                        NobodyJvm.runFixture(
                                NobodyJvm.runDirectory(dir, "b"),
                                SubidsTestCase.class,
                                List.of(),
                                "isolated.skipIfUnsupported=true")));
        List<String> failed = runs.get(0);
        List<String> skipped = runs.get(1);

        assertThat(failed)
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith("FAILED\t")
                        .contains(
                                "stage 'uid-map'",
                                "no range for nobody in /etc/subuid",
                                "add `nobody:100000:65536` to /etc/subuid and /etc/subgid"));
        assertThat(skipped)
                .singleElement()
                .satisfies(line ->
                        assertThat(line).startsWith("ABORTED\t").contains("no range for nobody in /etc/subuid"));
    }

    static class SubidsTestCase {
        @Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {PID, MOUNT},
                userMapping = UserMapping.SUBIDS)
        void annotation(IsolatedEnvironment env) {
            env.exec("true");
        }
    }
}
