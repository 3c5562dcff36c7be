package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("device nodes in an image")
class DeviceNodeTests {

    @Test
    @DisplayName("are never unpacked, not even as root: the environment has no such file")
    void imageDevicesAreInert(@TempDir Path dir) throws IOException {
        Path image = dir.resolve("with-device.tar");
        try (OutputStream file = Files.newOutputStream(image);
                TarArchiveOutputStream tar = new TarArchiveOutputStream(file)) {
            addBusybox(tar);
            TarArchiveEntry device = new TarArchiveEntry("etc/disk", TarConstants.LF_BLK);
            device.setDevMajor(1);
            device.setDevMinor(3); // /dev/null's numbers, as a block device: harmless even if it could be opened
            device.setMode(0660);
            tar.putArchiveEntry(device);
            tar.closeArchiveEntry();
        }

        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(image).start()) {
            assertThat(env.exec("sh", "-c", "ls -l /etc/disk"))
                    .failed()
                    .stderr()
                    .contains("No such file or directory");
            assertThat(env.exec("sh", "-c", "ls /etc")).succeeded();
            assertThat(env.exec("sh", "-c", "echo fine > /dev/null")).succeeded();
        }
    }

    @Test
    @DisplayName(
            "in a rootfs directory, which is used as it is, open nothing: its / is nodev, read-only or not (as root inside too)")
    void rootfsDirectoryDevicesOpenNothing(@TempDir Path dir) throws Exception {
        Path root = Files.createDirectories(dir.resolve("rootfs"));
        Path busybox = root.resolve("bin/busybox");
        Files.createDirectories(busybox.getParent());
        Files.copy(Path.of("/bin/busybox"), busybox);
        Files.createSymbolicLink(root.resolve("bin/sh"), Path.of("busybox"));
        Files.createSymbolicLink(root.resolve("bin/head"), Path.of("busybox"));
        Files.createSymbolicLink(root.resolve("bin/wc"), Path.of("busybox"));
        // /dev/zero's numbers, readable by all: opening it anywhere but on a nodev mount yields zeros
        Process mknod = new ProcessBuilder(
                        "mknod", "-m", "666", root.resolve("zero").toString(), "c", "1", "5")
                .redirectErrorStream(true)
                .start();
        org.assertj.core.api.Assertions.assertThat(mknod.waitFor())
                .as(new String(mknod.getInputStream().readAllBytes()))
                .isZero();

        for (boolean readOnly : new boolean[] {false, true}) {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs(root)
                    .readOnlyRootfs(readOnly)
                    .start()) {
                assertThat(env.exec("head", "-c", "3", "/zero"))
                        .as("readOnlyRootfs " + readOnly)
                        .failed()
                        .stderr()
                        .contains("/zero: Permission denied");
                assertThat(env.exec("sh", "-c", "head -c 3 /dev/zero | wc -c"))
                        .as("the environment's own /dev/zero")
                        .succeeded()
                        .stdout()
                        .isEqualTo("3\n");
            }
        }
    }

    @Test
    @Isolated(rootfs = "busybox.tar", capabilities = Capabilities.ALL)
    @DisplayName(
            "mknod at run time is refused, also with every capability (no CAP_MKNOD over the host: a user namespace), in /dev, /tmp and /")
    void mknodAtRunTimeIsRefused(IsolatedEnvironment env) {
        for (String dir : new String[] {"/dev", "/tmp", "/"}) {
            String node = dir.replaceAll("/$", "") + "/made-null";
            assertThat(env.exec("mknod", node, "c", "1", "3"))
                    .as("mknod in " + dir)
                    .failed()
                    .stderr()
                    .contains("Operation not permitted");
        }
        assertThat(env.exec(
                        "sh",
                        "-c",
                        "echo fine > /dev/null && head -c 4 /dev/urandom | wc -c && head -c 3 /dev/zero | wc -c"))
                .as("the environment's own nodes still work")
                .succeeded()
                .stdout()
                .isEqualTo("4\n3\n");
    }

    @Test
    @Isolated(rootfs = "busybox.tar")
    @DisplayName(
            "the environment's /dev holds only null, zero, full, random, urandom, tty, pts and shm, and the usual links fd, stdin, stdout, stderr and ptmx")
    void devHoldsOnlyTheListedEntries(IsolatedEnvironment env) {
        assertThat(env.exec("ls", "-A", "/dev"))
                .succeeded()
                .stdout()
                .isEqualTo(String.join(
                        "\n", "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty",
                        "urandom", "zero", ""));
        assertThat(
                        env.exec(
                                "sh",
                                "-c",
                                "for l in fd stdin stdout stderr ptmx; do echo $l $(readlink /dev/$l); done; ls -A /dev/pts /dev/shm"))
                .succeeded()
                .stdout()
                .isEqualTo("fd /proc/self/fd\nstdin /proc/self/fd/0\nstdout /proc/self/fd/1\nstderr /proc/self/fd/2\n"
                        + "ptmx pts/ptmx\n/dev/pts:\nptmx\n\n/dev/shm:\n");
    }

    private static void addBusybox(TarArchiveOutputStream tar) throws IOException {
        Path busybox = Files.exists(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
        for (String dir : new String[] {"bin/", "etc/", "dev/", "proc/", "tmp/"}) {
            TarArchiveEntry d = new TarArchiveEntry(dir);
            d.setMode(040755);
            tar.putArchiveEntry(d);
            tar.closeArchiveEntry();
        }
        TarArchiveEntry bin = new TarArchiveEntry("bin/busybox");
        bin.setMode(0100755);
        bin.setSize(Files.size(busybox));
        tar.putArchiveEntry(bin);
        Files.copy(busybox, tar);
        tar.closeArchiveEntry();
        for (String applet : new String[] {"sh", "ls", "cat"}) {
            TarArchiveEntry link = new TarArchiveEntry("bin/" + applet, TarConstants.LF_SYMLINK);
            link.setLinkName("busybox");
            tar.putArchiveEntry(link);
            tar.closeArchiveEntry();
        }
    }
}
