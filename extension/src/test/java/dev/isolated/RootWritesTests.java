package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.image.ImageBuilder;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * writeString and copyIn write as the environment's root would (as {@code docker cp} does): another user's 0600 file
 * of the image too, through its 0700 directory, keeping its owner and mode; never through a symlink out of the root.
 */
@DisplayName("writeString and copyIn act as the environment's root")
class RootWritesTests {
    static final String CONF = "/etc/postgresql/16/main";
    static final String HBA = CONF + "/pg_hba.conf";

    /** busybox with PostgreSQL's layout: {@value #CONF} 0700 and its pg_hba.conf 0600, both owned by 70:70. */
    static Path postgresImage(Path dir) throws Exception {
        Path plain = ImageBuilder.from("busybox.tar")
                .addText(HBA, "local all all peer\n")
                .mode(CONF, 0700)
                .mode(HBA, 0600)
                .build();
        Path tar = dir.resolve("postgres-layout.tar");
        Set<String> owned = Set.of(CONF.substring(1), HBA.substring(1));
        try (InputStream in = Files.newInputStream(plain);
                TarArchiveInputStream entries = new TarArchiveInputStream(in);
                OutputStream out = Files.newOutputStream(tar);
                TarArchiveOutputStream copy = new TarArchiveOutputStream(out)) {
            copy.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (TarArchiveEntry e = entries.getNextEntry(); e != null; e = entries.getNextEntry()) {
                String name = e.getName().replaceFirst("^\\./", "").replaceFirst("/$", "");
                if (owned.contains(name)) {
                    e.setUserId(70);
                    e.setGroupId(70);
                    e.setUserName("");
                    e.setGroupName("");
                }
                copy.putArchiveEntry(e);
                entries.transferTo(copy);
                copy.closeArchiveEntry();
            }
        }
        return tar;
    }

    @Test
    @DisplayName("another user's 0600 file of the image, in its 0700 directory, is written by writeString and copyIn; "
            + "it keeps its owner and mode, and what is made there belongs to root")
    void anotherUsersPrivateFile(@TempDir Path dir) throws Exception {
        Path host = Files.writeString(dir.resolve("pg_hba.conf"), "host all all 0.0.0.0/0 trust\n");
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(postgresImage(dir).toString())
                .start()) {
            assertThat(env.exec("stat", "-c", "%a %u:%g", CONF, HBA)).stdout().isEqualTo("700 70:70\n600 70:70\n");

            env.writeString(HBA, "local all all trust\n");
            assertThat(env.exec("sh", "-c", "stat -c '%a %u:%g' " + HBA + "; cat " + HBA))
                    .stdout()
                    .isEqualTo("600 70:70\nlocal all all trust\n");

            env.copyIn(host, HBA);
            env.writeString(CONF + "/conf.d/listen.conf", "listen_addresses = '*'\n");
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "stat -c '%a %u:%g %n' " + HBA + " " + CONF + "/conf.d " + CONF
                                    + "/conf.d/listen.conf; cat " + HBA + " " + CONF + "/conf.d/listen.conf"))
                    .stdout()
                    .isEqualTo("600 70:70 " + HBA + "\n755 0:0 " + CONF + "/conf.d\n644 0:0 " + CONF
                            + "/conf.d/listen.conf\nhost all all 0.0.0.0/0 trust\nlisten_addresses = '*'\n");
        }
    }

    @Test
    @DisplayName("a symlink planted inside that names a host file or directory (or leads up past the root) is followed "
            + "inside the root only: the host's stay as they were")
    void plantedSymlinksStayInside(@TempDir Path dir) throws Exception {
        Path canary = Files.writeString(dir.resolve("canary"), "host canary\n");
        Path hostDir = Files.createDirectories(dir.resolve("host-dir"));
        Path source = Files.writeString(dir.resolve("source"), "copied\n");
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(postgresImage(dir).toString())
                .start()) {
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "mkdir -p " + hostDir + " && ln -s " + canary + " " + CONF + "/to-file && ln -s " + hostDir
                                    + " " + CONF
                                    + "/to-dir && ln -s ../../../../.. " + CONF + "/up"))
                    .succeeded();

            env.writeString(CONF + "/to-file", "through a symlink\n");
            env.writeString(CONF + "/to-dir/made", "in a directory\n");
            env.copyIn(source, CONF + "/up/" + canary.getParent() + "/copied");

            assertThat(canary).content().isEqualTo("host canary\n");
            assertThat(hostDir).isEmptyDirectory();
            assertThat(dir.resolve("copied")).doesNotExist();
            assertThat(env.exec("cat", canary.toString(), hostDir + "/made", dir + "/copied"))
                    .stdout()
                    .isEqualTo("through a symlink\nin a directory\ncopied\n");
        }
    }

    @Test
    @DisplayName("without a MOUNT namespace (a chroot) another user's 0600 file is written as well")
    void chrootEnvironment(@TempDir Path dir) throws Exception {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(postgresImage(dir).toString())
                .namespaces(LinuxNamespace.PID)
                .start()) {
            env.writeString(HBA, "local all all trust\n");

            assertThat(env.exec("sh", "-c", "stat -c '%a %u:%g' " + HBA + "; cat " + HBA))
                    .stdout()
                    .isEqualTo("600 70:70\nlocal all all trust\n");
        }
    }

    @Test
    @DisplayName("what root inside may not write either fails naming the path and why: a read-only rootfs, a bind's "
            + "0644 file of the host's root")
    void whatRootInsideMayNotWrite(@TempDir Path dir) throws Exception {
        Path bound = Files.createDirectories(dir.resolve("bound"));
        Path hostFile = Files.writeString(bound.resolve("host-owned"), "host\n");
        Files.setPosixFilePermissions(bound, PosixFilePermissions.fromString("rwxrwxrwx"));
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .readOnlyRootfs(true)
                .bindWritable(bound, "/bound")
                .start()) {
            assertThatThrownBy(() -> env.writeString("/etc/motd", "x"))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessage("Cannot write /etc/motd: openat2 /etc/motd in the environment of host pid "
                            + env.initHostPid() + ": Read-only file system (errno 30); it is on a read-only mount: the "
                            + "rootfs with readOnlyRootfs, or a read-only bind");
            assertThatThrownBy(() -> env.writeString("/bound/host-owned", "x"))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageStartingWith("Cannot write /bound/host-owned: openat2 /bound/host-owned in the "
                            + "environment of host pid " + env.initHostPid() + ": Permission denied (errno 13); "
                            + "root inside may not write there either");
            env.writeString("/bound/new", "made\n");
        }
        assertThat(hostFile).content().isEqualTo("host\n");
        assertThat(bound.resolve("new")).content().isEqualTo("made\n");
    }

    @Test
    @DisplayName("a file of /proc whose kernel handler checks the writer's capabilities is written with root inside's, "
            + "not the helper's: a command's autogroup nice below 0 is refused, as it is to root inside")
    void procFileWrittenWithRootInsidesCapabilities() throws Exception {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            IsolatedProcess sleeper = env.start("sleep", "1000");
            String file = "/proc/" + env.exec("pidof", "sleep").stdout().strip() + "/autogroup";
            assertThat(env.exec("sh", "-c", "echo -10 > " + file)).failed();

            assertThatThrownBy(() -> env.writeString(file, "-10"))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageStartingWith("Cannot write " + file + ": write " + file + " in the environment of host "
                            + "pid " + env.initHostPid() + ": Operation not permitted (errno 1)");
            assertThat(env.readString(file)).endsWith(" nice 0\n");
            env.writeString(file, "5");
            assertThat(env.readString(file)).endsWith(" nice 5\n");
            sleeper.kill();
        }
    }

    @Test
    @DisplayName("run by uid 65534 with SUBIDS: another user's 0600 file in its 0700 directory is written by "
            + "writeString and copyIn, keeping owner and mode; a symlink to a host file is not followed out")
    void rootless(@TempDir Path dir) throws Exception {
        NobodyJvm.runSubIdsFixture(dir, RootlessTestCase.class);
    }

    static class RootlessTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar", userMapping = UserMapping.SUBIDS)
        void writes(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
            Path canary = Files.writeString(dir.resolve("canary"), "host canary\n");
            Path source = Files.writeString(dir.resolve("source"), "copied\n");
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "mkdir -p /etc/pg " + dir + " && echo old > /etc/pg/hba && ln -s " + canary
                                    + " /etc/pg/link"
                                    + " && chown -R 999:999 /etc/pg && chmod 700 /etc/pg && chmod 600 /etc/pg/hba"))
                    .succeeded();

            env.writeString("/etc/pg/hba", "written\n");
            env.copyIn(source, "/etc/pg/copied");
            env.writeString("/etc/pg/link", "through a symlink\n");

            assertThat(env.exec(
                            "sh",
                            "-c",
                            "stat -c '%a %u:%g %n' /etc/pg/hba /etc/pg/copied; cat /etc/pg/hba " + "/etc/pg/copied "
                                    + canary))
                    .stdout()
                    .isEqualTo("600 999:999 /etc/pg/hba\n644 0:0 /etc/pg/copied\nwritten\ncopied\nthrough a symlink\n");
            assertThat(canary).content().isEqualTo("host canary\n");
        }
    }
}
