package dev.isolated.internal.image;

import static dev.isolated.internal.image.TestTars.tar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerStoreInternalTests {

    @TempDir
    Path cacheDirectory;

    @AfterEach
    void forget() {
        ImageCache.forgetHandedOut();
    }

    @Test
    @DisplayName("a layer whose content does not match the diff_id its config gives is refused and stored under no key")
    void diffIdMismatch() throws IOException {
        byte[] lower =
                tar().directory("etc", 0755).file("etc/os-release", "real\n").bytes();
        byte[] claimed = tar().file("claimed", "x").bytes();
        byte[] actual = tar().file("etc/os-release", "poisoned\n").bytes();
        TestLayouts layout = new TestLayouts();
        byte[] manifest = layout.ociManifest(
                TestLayouts.config(lower, claimed),
                List.of(lower, actual),
                List.of("application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar"));
        layout.index(layout.descriptor(TestLayouts.OCI_MANIFEST, manifest, ""));

        assertThatThrownBy(() -> cache().rootfsFor(LayeredImageTests.archive("poison.tar", layout.tar())))
                .isInstanceOf(ImageUnpackException.class)
                .hasMessageContaining("Image archive poison.tar: layer 2 of 2")
                .hasMessageContaining("unpacks to a tar whose sha256 is sha256:" + TestTars.sha256(actual)
                        + ", but the image's config gives sha256:" + TestTars.sha256(claimed) + " in rootfs.diff_ids");

        // The lower layer is stored if it was done before the failure, else stopped and removed (layers are
        // unpacked at once): either way the poisoned one is stored under no key.
        assertThat(storedLayers()).isSubsetOf("sha256:" + TestTars.sha256(lower));
        byte[] honest = TestImages.dockerSave("{}", lower, claimed);
        assertThat(cache().rootfsFor(LayeredImageTests.archive("honest.tar", honest))
                        .resolve("claimed"))
                .hasContent("x");
        assertThat(storedLayers())
                .containsExactlyInAnyOrder("sha256:" + TestTars.sha256(lower), "sha256:" + TestTars.sha256(claimed));
    }

    @Test
    @DisplayName(
            "whiteouts and opaque directories are recorded with the layer, never created, and applied when images are merged")
    void whiteoutsRecorded() throws IOException {
        byte[] lower = tar().directory("etc", 0755)
                .file("etc/gone", "g")
                .directory("opt", 0755)
                .file("opt/old", "o")
                .file("keep", "k")
                .bytes();
        byte[] upper = tar().file("etc/.wh.gone", "")
                .directory("opt", 0755)
                .file("opt/.wh..wh..opq", "")
                .file("opt/new", "n")
                .bytes();

        Path rootfs =
                cache().rootfsFor(LayeredImageTests.archive("two.tar", TestImages.dockerSave("{}", lower, upper)));

        assertThat(rootfs.resolve("etc/gone")).doesNotExist();
        assertThat(rootfs.resolve("opt/old")).doesNotExist();
        assertThat(rootfs.resolve("opt/new")).hasContent("n");
        assertThat(rootfs.resolve("keep")).hasContent("k");
        Path stored = cacheDirectory.resolve("layers").resolve(TestTars.sha256(upper));
        try (Stream<Path> files = Files.walk(stored.resolve("tree"))) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.startsWith(".wh."));
        }
        assertThat(Files.readString(stored.resolve("whiteouts")).split("\0"))
                .containsExactlyInAnyOrder("whiteout etc/gone", "opaque opt");
        assertThat(stored.resolve("tree/opt/new")).hasContent("n");
        assertThat(Files.readAllLines(stored.resolve("complete")))
                .as("the layer's own counts, not its image's")
                .contains("entries=4", "bytes=1");
        assertThat(Files.isSameFile(stored.resolve("tree/opt/new"), rootfs.resolve("opt/new")))
                .as("hard link")
                .isTrue();
    }

    @Test
    @DisplayName(
            "an entry name with a carriage return cannot add lines to a stored layer's complete file, whose counts a"
                    + " later image's limits trust")
    void entryNameCannotForgeCounts() throws IOException {
        byte[] layer = tar().file("big", "x".repeat(100))
                .characterDevice("dev/null\rentries=0\rbytes=0\rx", 1, 3)
                .bytes();
        cache().rootfsFor(LayeredImageTests.archive("first.tar", TestImages.dockerSave("{}", layer)));
        Path stored = cacheDirectory.resolve("layers").resolve(TestTars.sha256(layer));

        assertThat(Files.readAllLines(stored.resolve("complete")))
                .contains("entries=2", "bytes=100")
                .doesNotContain("entries=0", "bytes=0");
        byte[] second =
                TestImages.dockerSave("{}", layer, tar().file("small", "y").bytes());
        ImageCache limited = new ImageCache(cacheDirectory, new SafeTarUnpacker(new UnpackLimits(50, 100)), note -> {});
        assertThatThrownBy(() -> limited.rootfsFor(LayeredImageTests.archive("second.tar", second)))
                .as("the stored layer's 100 bytes count against the second image's limit of 50")
                .isInstanceOf(ImageUnpackException.class)
                .hasMessageContaining("more than 50 bytes");
    }

    private List<String> storedLayers() throws IOException {
        try (Stream<Path> layers = Files.list(cacheDirectory.resolve("layers"))) {
            return layers.filter(Files::isDirectory)
                    .map(p -> "sha256:" + p.getFileName())
                    .toList();
        }
    }

    private ImageCache cache() {
        return new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), note -> {});
    }
}
