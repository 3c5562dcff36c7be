package dev.isolated.testimages;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.IsolatedEnvironment;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The layers the Debian test images are made of: a whole rootfs, and a rootfs's differences from its base. */
class RootfsLayerTests {

    @TempDir
    Path dir;

    private Path base() throws IOException {
        Path base = Files.createDirectories(dir.resolve("base"));
        Files.writeString(Files.createDirectories(base.resolve("etc")).resolve("config"), "old\n");
        Files.writeString(base.resolve("etc/same"), "same\n");
        Files.writeString(base.resolve("etc/chmod"), "mode\n");
        Files.writeString(
                Files.createDirectories(base.resolve("var/cache/gone")).resolve("file"), "x\n");
        Files.writeString(base.resolve("var/gone.log"), "x\n");
        Files.createSymbolicLink(base.resolve("link"), Path.of("etc/same"));
        Files.createDirectories(base.resolve("dev"));
        Files.writeString(base.resolve("dev/not-in-a-layer"), "x\n");
        return base;
    }

    /** A copy of the base with every time kept, then changed. */
    private Path upper(Path base) throws Exception {
        Path upper = dir.resolve("upper");
        Process copy = new ProcessBuilder("cp", "-a", base.toString(), upper.toString())
                .inheritIO()
                .start();
        assertThat(copy.waitFor()).isZero();
        Files.writeString(upper.resolve("etc/config"), "new\n");
        Files.setLastModifiedTime(upper.resolve("etc/config"), FileTime.fromMillis(1_000_000_000_000L));
        Files.setPosixFilePermissions(upper.resolve("etc/chmod"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(
                Files.createDirectories(upper.resolve("usr/bin")).resolve("service"), "#!/bin/sh\necho service\n");
        Files.setPosixFilePermissions(upper.resolve("usr/bin/service"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createLink(upper.resolve("usr/bin/service-again"), upper.resolve("usr/bin/service"));
        Process remove = new ProcessBuilder(
                        "rm",
                        "-r",
                        upper.resolve("var/cache/gone").toString(),
                        upper.resolve("var/gone.log").toString())
                .inheritIO()
                .start();
        assertThat(remove.waitFor()).isZero();
        return upper;
    }

    @Test
    void aDiffHoldsWhatChangedWithItsParentsAndWhiteoutsForWhatIsGone() throws Exception {
        Path base = base();
        Path upper = upper(base);

        RootfsLayer.Written layer = RootfsLayer.diff(base, upper, dir.resolve("layer.tar.gz"));

        assertThat(names(layer.file()))
                .containsExactly(
                        "etc/",
                        "etc/chmod",
                        "etc/config",
                        "usr/",
                        "usr/bin/",
                        "usr/bin/service",
                        "usr/bin/service-again",
                        "var/",
                        "var/.wh.gone.log",
                        "var/cache/",
                        "var/cache/.wh.gone");
        assertThat(layer.whiteouts()).containsExactly("var/.wh.gone.log", "var/cache/.wh.gone");
        assertThat(layer.entries()).isEqualTo(11);
        assertThat(layer.digest())
                .isEqualTo(RootfsLayer.diff(base, upper, dir.resolve("again.tar.gz"))
                        .digest());
    }

    @Test
    void aWholeRootfsLeavesDevEmpty() throws Exception {
        RootfsLayer.Written layer = RootfsLayer.of(base(), dir.resolve("layer.tar.gz"));

        assertThat(names(layer.file()))
                .containsExactly(
                        "dev/",
                        "etc/",
                        "etc/chmod",
                        "etc/config",
                        "etc/same",
                        "link",
                        "var/",
                        "var/cache/",
                        "var/cache/gone/",
                        "var/cache/gone/file",
                        "var/gone.log");
        assertThat(layer.whiteouts()).isEmpty();
    }

    @Test
    void anEnvironmentOfBothLayersHasTheChangesAndNotWhatWasRemoved() throws Exception {
        Path base = base();
        Path upper = upper(base);
        OciLayoutWriter layout = new OciLayoutWriter(dir.resolve("layout"));
        RootfsLayer.Written lower = layout.store(RootfsLayer.of(base, dir.resolve("lower.tar.gz")));
        RootfsLayer.Written top = layout.store(RootfsLayer.diff(base, upper, dir.resolve("top.tar.gz")));
        layout.add("1.0", "{\"Env\":[\"PATH=/\"]}", List.of(lower, top, layout.store(busyboxOnly())));

        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(layout.directory().toString())
                .start()) {
            assertThat(env.exec("busybox", "cat", "/etc/config", "/etc/same", "/link"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("new\nsame\nsame\n");
            // The mode change came through; service and service-again are one file (one inode), as in the layer.
            // (Link counts are not compared: the layer store hard-links each image's files to the stored layer's.)
            assertThat(env.exec("busybox", "stat", "-c", "%a", "/etc/chmod", "/usr/bin/service"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("755\n755\n");
            String inodes = env.exec(
                            "busybox", "stat", "-c", "%i", "/usr/bin/service", "/usr/bin/service-again", "/etc/chmod")
                    .stdout();
            String[] ids = inodes.trim().split("\n");
            assertThat(ids).hasSize(3);
            assertThat(ids[0]).isEqualTo(ids[1]).isNotEqualTo(ids[2]);
            assertThat(env.exec("busybox", "ls", "-a", "/var", "/var/cache"))
                    .succeeded()
                    .stdout()
                    .doesNotContain("gone")
                    .doesNotContain(".wh.");
        }
    }

    /** A third layer with only a static busybox, to look inside. */
    private RootfsLayer.Written busyboxOnly() throws IOException {
        Path root = Files.createDirectories(dir.resolve("busybox-root"));
        Files.copy(Path.of("/bin/busybox"), root.resolve("busybox"));
        return RootfsLayer.of(root, dir.resolve("busybox.tar.gz"));
    }

    private static List<String> names(Path layer) throws IOException {
        List<String> names = new ArrayList<>();
        try (InputStream in = new GZIPInputStream(Files.newInputStream(layer));
                TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                names.add(entry.getName());
            }
        }
        return names;
    }
}
