package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.internal.image.TestImages;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * podman's and skopeo's {@code docker-archive} (issue 10): layers at the top as {@code <sha256>.tar},
 * {@code <id>/layer.tar} symlinks beside them. It is an image, not a rootfs tar whose {@code /} holds
 * {@code manifest.json}.
 */
@DisplayName("A podman / skopeo docker-archive")
class DockerArchiveTests {

    private static final String RUN_CONFIG =
            "{\"Env\":[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\",\"GREETING=from-config\"]}";

    @TempDir
    Path dir;

    @Test
    @DisplayName("(built as containers/image writes it) is read as the image: / holds its files, its Env applies")
    void podmanLayout() throws Exception {
        Path archive = Files.write(dir.resolve("podman.tar"), TestImages.podmanDockerArchive(RUN_CONFIG, busybox()));

        assertIsTheImage(archive);
    }

    /**
     * Needs skopeo (installed by .ci/install-deps). It copies an OCI layout made here into a
     * docker-archive, all local: no registry is contacted.
     */
    @Test
    @DisplayName("made by skopeo copy oci:... docker-archive:... is read as the image")
    void madeBySkopeo() throws Exception {
        Path layout = TestImages.ociLayout(Files.createDirectory(dir.resolve("oci")), RUN_CONFIG, busybox());
        Path archive = dir.resolve("skopeo.tar");
        run(
                dir,
                "skopeo",
                "--insecure-policy",
                "copy",
                "oci:" + layout + ":1.0",
                "docker-archive:" + archive + ":example.com/busybox:1.0");

        List<String> listing = run(dir, "tar", "-tvf", archive.toString());
        assertThat(listing)
                .as("skopeo's layout, as TestLayouts.podmanDockerArchive mirrors it")
                .anyMatch(line -> line.matches("l.* [0-9a-f]{64}/layer\\.tar -> \\.\\./[0-9a-f]{64}\\.tar"))
                .anyMatch(line -> line.matches("-.* [0-9a-f]{64}\\.tar"))
                .anyMatch(line -> line.endsWith(" manifest.json"));

        assertIsTheImage(archive);
    }

    @Test
    @DisplayName(
            "a rootfs tar with a manifest.json at its top that is not an image's fails naming it, not exit 127 later")
    void notAnImageManifest() throws Exception {
        byte[] rootfs = TestImages.layer(
                List.of("etc"), Map.of("manifest.json", "{\"name\":\"app\"}", "etc/hostname", "box\n"));
        Path archive = Files.write(dir.resolve("rootfs.tar"), rootfs);

        assertThatThrownBy(() ->
                        IsolatedEnvironment.builder().rootfs(archive.toString()).start())
                .hasMessage("Image file " + archive + ": malformed image layout: manifest.json of image file " + archive
                        + " must hold a JSON array, found an object. An archive or directory with manifest.json, index.json"
                        + " or oci-layout at its top is read as an image, never as a rootfs.");
    }

    private void assertIsTheImage(Path archive) throws Exception {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(archive.toString()).start()) {
            ExecResult ls = env.exec("ls", "/");
            assertThat(ls)
                    .succeeded()
                    .stdout()
                    .contains("bin")
                    .doesNotContain("manifest.json")
                    .doesNotContainPattern("[0-9a-f]{64}");
            assertThat(env.exec("/bin/busybox", "true")).succeeded();
            assertThat(env.exec("sh", "-c", "echo $GREETING"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("from-config\n");
        }
    }

    private byte[] busybox() throws IOException {
        try (InputStream in = getClass().getResourceAsStream("/busybox.tar")) {
            return in.readAllBytes();
        }
    }

    private static List<String> run(Path directory, String... command) throws Exception {
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .directory(directory.toFile())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            throw new AssertionError("Cannot run " + command[0] + " (.ci/install-deps installs skopeo): " + e, e);
        }
        List<String> lines = new ArrayList<>();
        try (var reader = process.inputReader(StandardCharsets.UTF_8)) {
            reader.lines().forEach(lines::add);
        }
        assertThat(process.waitFor(120, TimeUnit.SECONDS))
                .as(String.join(" ", command))
                .isTrue();
        assertThat(process.exitValue())
                .as(String.join(" ", command) + " printed " + lines)
                .isZero();
        return lines;
    }
}
