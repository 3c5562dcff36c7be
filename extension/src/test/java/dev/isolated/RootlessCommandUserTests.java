package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.image.ImageBuilder;
import dev.isolated.internal.helper.TemporarySubIds;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("rootless: an environment's or a command's non-root user needs userMapping = SUBIDS")
class RootlessCommandUserTests {

    private static String image(Path dir) throws Exception {
        Path tar = dir.resolve("accounts.tar");
        ImageBuilder.from("busybox.tar")
                .addText("/etc/passwd", CommandDefaultsTests.PASSWD)
                .addText("/etc/group", CommandDefaultsTests.GROUP)
                .writeTar(tar);
        Files.setPosixFilePermissions(tar, PosixFilePermissions.fromString("rw-r--r--"));
        return "isolated.rootfs=" + tar;
    }

    @Test
    @DisplayName(
            "run by uid 65534 with ROOT or SELF: a user other than root fails the command naming the id and SUBIDS")
    void rootMappingCannotSwitch(@TempDir Path dir) throws Exception {
        Path run = NobodyJvm.runDirectory(dir, "run");
        List<String> lines = NobodyJvm.runFixture(run, RootMappingTestCase.class, List.of(), image(dir));

        assertThat(lines).hasSize(3);
        assertThat(lines).filteredOn(line -> line.startsWith("SUCCESSFUL")).hasSize(1);
        assertThat(lines)
                .filteredOn(line -> line.startsWith("FAILED"))
                .hasSize(2)
                .allSatisfy(line -> assertThat(line)
                        .contains(
                                "IsolatedException: Command [id] cannot run as 999:999 (postgres, groups 4,50): gid 999 is "
                                        + "not mapped in the environment's user namespace (setresgid: EINVAL). Run rootless, userMapping "
                                        + "ROOT and SELF map one id only (0, or the tests' own uid); other users need userMapping = "
                                        + "SUBIDS (@Isolated(userMapping = SUBIDS), builder().userMapping(UserMapping.SUBIDS)) "
                                        + "and a range in /etc/subuid and /etc/subgid"));
    }

    @Test
    @DisplayName("run by uid 65534 with SUBIDS: the environment's user by name, with its supplementary groups")
    void subidsSwitch(@TempDir Path dir) throws Exception {
        Path run = NobodyJvm.runDirectory(dir, "run");
        String rootfs = image(dir);
        List<String> lines = TemporarySubIds.during(
                TemporarySubIds.replacing(List.of("nobody", NobodyJvm.NOBODY), NobodyJvm.NOBODY + ":1300000000:65536"),
                () -> NobodyJvm.runFixture(run, SubidsTestCase.class, List.of(), rootfs));

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class RootMappingTestCase {
        @Test
        @Isolated(
                namespaces = {PID, MOUNT},
                user = "postgres")
        void environmentUser(IsolatedEnvironment env) {
            env.exec("id");
        }

        @Test
        @Isolated(
                namespaces = {PID, MOUNT},
                userMapping = UserMapping.SELF)
        void commandUser(IsolatedEnvironment env) {
            env.exec(Command.of("id").withUser("postgres"));
        }

        @Test
        @Isolated(
                namespaces = {PID, MOUNT},
                user = "root")
        void rootWorks(IsolatedEnvironment env) {
            assertThat(env.exec("id", "-u")).succeeded().stdout().isEqualTo("0\n");
            // root is in group adm here: without setgroups (denied rootless) the command runs without it
            assertThat(env.exec(Command.of("id", "-G").withUser("root")))
                    .succeeded()
                    .stdout()
                    .isEqualTo("0\n");
        }
    }

    static class SubidsTestCase {
        @Test
        @Isolated(
                namespaces = {PID, MOUNT},
                user = "postgres",
                userMapping = UserMapping.SUBIDS)
        void environmentUser(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "echo $(id -u):$(id -g):$(id -G | tr ' ' ,)"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("999:999:999,4,50\n");
        }
    }
}
