package dev.isolated.internal.image;

import static dev.isolated.internal.image.TestTars.tar;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unpacking as a user other than root (uid 65534, in a child JVM started with {@code setpriv}): an image's directory
 * that its owner may not list ({@code 0000}, {@code 0311}) is unpacked, and merged from the layer store, all the same.
 */
class RootlessDirectoryModeTests {

    private static final byte[] LAYER = tar().directory("locked", 0)
            .file("locked/file", "x")
            .directory("dropbox", 0311)
            .file("dropbox/f", "y")
            .file("top", "t")
            .bytes();

    @TempDir
    Path base;

    @AfterEach
    void forget() {
        ImageCache.forgetHandedOut();
    }

    @Test
    @DisplayName("as another user, directories keep read and search permission for it (0000 becomes 0500), in a plain"
            + " rootfs tar and in a layered image, which is merged from its stored layer")
    void ownerCanWalkEveryDirectory() throws Exception {
        assertThat(PosixCalls.isRoot())
                .as("this test needs root, to run a JVM as uid 65534")
                .isTrue();
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path cache = Files.createDirectory(base.resolve("cache"));
        Files.setAttribute(cache, "unix:uid", 65534);
        Path report = base.resolve("report");

        Process child = new ProcessBuilder(
                        "setpriv",
                        "--reuid=65534",
                        "--regid=65534",
                        "--clear-groups",
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Djava.io.tmpdir=" + base,
                        "-cp",
                        classpathReadableByAll(Files.createDirectory(base.resolve("cp"))),
                        Unpack.class.getName(),
                        cache.toString(),
                        report.toString())
                .redirectErrorStream(true)
                .redirectOutput(base.resolve("child.log").toFile())
                .start();
        assertThat(child.waitFor())
                .as(Files.readString(base.resolve("child.log")))
                .isZero();

        List<String> rootfses = Files.readAllLines(report);
        assertThat(rootfses).hasSize(2).allMatch(line -> line.startsWith("/"), "a rootfs, not a failure");
        for (String line : rootfses) {
            Path rootfs = Path.of(line);
            assertThat(SafeTarUnpackerTests.mode(rootfs.resolve("locked"))).isEqualTo(0500);
            assertThat(SafeTarUnpackerTests.mode(rootfs.resolve("dropbox"))).isEqualTo(0711);
            assertThat(rootfs.resolve("locked/file")).hasContent("x");
            assertThat(Files.getAttribute(rootfs.resolve("locked/file"), "unix:uid"))
                    .isEqualTo(65534);
        }
    }

    /** Run as uid 65534: unpacks LAYER as a plain rootfs tar and as a docker save archive, one line each. */
    static final class Unpack {

        public static void main(String[] args) throws IOException {
            ImageCache cache =
                    new ImageCache(Path.of(args[0]), new SafeTarUnpacker(UnpackLimits.defaults()), note -> {});
            List<String> lines = new ArrayList<>();
            for (ImageSource source : List.of(
                    LayeredImageTests.archive("plain.tar", LAYER),
                    LayeredImageTests.archive("layered.tar", TestImages.dockerSave("{}", LAYER)))) {
                try {
                    lines.add(cache.rootfsFor(source).toString());
                } catch (RuntimeException e) {
                    lines.add(e.toString().replace('\n', ' '));
                }
            }
            Files.write(Path.of(args[1]), lines, StandardCharsets.UTF_8);
        }
    }

    /** Copies this JVM's class path (jars under /root are not readable by uid 65534) into {@code directory}. */
    private static String classpathReadableByAll(Path directory) throws IOException {
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path source = Path.of(entry);
            if (!Files.exists(source)) {
                continue;
            }
            Path copy = directory.resolve(i++ + "-" + source.getFileName());
            try (Stream<Path> files = Files.walk(source)) {
                for (Path file : files.toList()) {
                    Path target = copy.resolve(source.relativize(file).toString());
                    Files.copy(file, target, StandardCopyOption.COPY_ATTRIBUTES);
                    Files.setPosixFilePermissions(
                            target,
                            PosixFilePermissions.fromString(Files.isDirectory(file) ? "rwxr-xr-x" : "rw-r--r--"));
                }
            }
            entries.add(copy.toString());
        }
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        return String.join(File.pathSeparator, entries);
    }
}
