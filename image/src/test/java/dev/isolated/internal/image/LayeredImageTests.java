package dev.isolated.internal.image;

import static dev.isolated.internal.image.TestTars.tar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.image.ImageConfig;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayeredImageTests {

    /** Lower layer: files to delete, an opaque-to-be directory, a file that becomes a directory and back. */
    static final byte[] LOWER = tar().directory("etc", 0755)
            .file("etc/keep", "kept")
            .file("etc/gone", "whited out")
            .directory("etc/gonedir", 0755)
            .file("etc/gonedir/inner", "whited out with its directory")
            .directory("opt", 0755)
            .file("opt/old", "hidden by the opaque marker")
            .directory("opt/sub", 0755)
            .file("opt/sub/deep", "hidden too")
            .directory("opt/mixed", 0755)
            .file("opt/mixed/lower", "hidden, though its directory is rewritten")
            .file("becomes-dir", "a file first")
            .directory("becomes-link", 0755)
            .file("becomes-link/inner", "a directory first")
            .bytes();

    /** Upper layer: whiteouts, and the opaque marker AFTER siblings of the same layer. */
    static final byte[] UPPER = tar().file("etc/.wh.gone", "")
            .file("etc/.wh.gonedir", "")
            .file("opt/new", "written before the marker")
            .directory("opt/mixed", 0755)
            .file("opt/mixed/upper", "written before the marker too")
            .file("opt/.wh..wh..opq", "")
            .file("opt/after", "written after the marker")
            .directory("becomes-dir", 0755)
            .file("becomes-dir/child", "now a directory")
            .symlink("becomes-link", "/etc")
            .bytes();

    @TempDir
    Path base;

    Path cacheDirectory;

    @BeforeEach
    void createCache() throws IOException {
        cacheDirectory = Files.createDirectory(base.resolve("cache"));
    }

    @Test
    @DisplayName(
            "legacy docker save: two layers with whiteouts and an opaque directory whose marker follows its siblings")
    void legacyDockerSave() throws IOException {
        byte[] archive =
                TestLayouts.legacyDockerSave(List.of("myapp:1.0"), LOWER, UPPER).tar();

        UnpackedImage image = unpack(archive("docker-save.tar", archive));

        assertLayersApplied(image.rootfs());
        assertConfig(image.config());
    }

    @Test
    @DisplayName("Docker 25+ archive (OCI layout plus manifest.json), gzip and zstd layers, told by magic bytes")
    void docker25() throws IOException {
        TestLayouts layout = new TestLayouts();
        byte[] lower = TestTars.gzip(LOWER);
        byte[] upper = TestTars.zstd(UPPER);
        byte[] config = TestLayouts.config(LOWER, UPPER);
        byte[] manifest = layout.ociManifest(
                config,
                List.of(lower, upper),
                List.of("application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar"));
        layout.index(layout.descriptor(
                TestLayouts.OCI_MANIFEST,
                manifest,
                "\"annotations\":{\"io.containerd.image.name\":\"docker.io/library/myapp:1.0\","
                        + "\"org.opencontainers.image.ref.name\":\"1.0\"}"));
        layout.text(
                "manifest.json",
                "[{\"Config\":\"blobs/sha256/" + TestTars.sha256(config) + "\",\"RepoTags\":"
                        + "[\"myapp:1.0\"],\"Layers\":[\"blobs/sha256/" + TestTars.sha256(lower) + "\",\"blobs/sha256/"
                        + TestTars.sha256(upper) + "\"]}]");

        UnpackedImage image = unpack(archive("docker25.tar", layout.tar()));

        assertLayersApplied(image.rootfs());
        assertConfig(image.config());
    }

    @Test
    @DisplayName("OCI layout directory: index.json → image index → the manifest for this architecture")
    void ociDirectoryWithImageIndex() throws IOException {
        TestLayouts layout = multiPlatformLayout();
        Path directory = layout.writeTo(Files.createDirectory(base.resolve("oci")));

        UnpackedImage image = cache().unpack(ImageSource.ofDirectory(directory));

        assertThat(image.rootfs()).startsWith(cacheDirectory);
        assertThat(image.rootfs().resolve("arch")).hasContent(RuntimePlatform.architecture());
        assertConfig(image.config());
        assertThat(cache().unpack(ImageSource.ofDirectory(directory))).isEqualTo(image);
    }

    @Test
    @DisplayName("OCI layout as a gzip-compressed tar, with the image chosen by its ref.name tag")
    void ociTarByTag() throws IOException {
        TestLayouts layout = new TestLayouts();
        byte[] first = layout.ociManifest(
                TestLayouts.config(LOWER), List.of(LOWER), List.of("application/vnd.oci.image.layer.v1.tar"));
        byte[] secondLayer = tar().file("which", "second").bytes();
        byte[] second = layout.ociManifest(
                TestLayouts.config(secondLayer),
                List.of(TestTars.xz(secondLayer)),
                List.of("application/vnd.oci.image.layer.v1.tar"));
        layout.index(
                layout.descriptor(
                        TestLayouts.OCI_MANIFEST,
                        first,
                        "\"annotations\":{\"org.opencontainers.image.ref.name\":\"1.0\"}"),
                layout.descriptor(
                        TestLayouts.OCI_MANIFEST,
                        second,
                        "\"annotations\":{\"org.opencontainers.image.ref.name\":\"2.0\"}"));
        byte[] archive = TestTars.gzip(layout.tar());

        Path rootfs = cache().rootfsFor(archive("oci.tar.gz", archive).withReference("2.0"));

        assertThat(rootfs.resolve("which")).hasContent("second");
        assertThatThrownBy(() -> cache().rootfsFor(archive("oci.tar.gz", archive)))
                .isInstanceOf(ImageUnpackException.class)
                .hasMessage("Image archive oci.tar.gz holds 2 images; choose one by tag with 'archive oci.tar.gz#TAG'. "
                        + "Its tags: 1.0, 2.0");
    }

    @Test
    @DisplayName("podman / skopeo docker-archive: <sha256>.tar layers at the top, <id>/layer.tar symlinks beside them")
    void podmanDockerArchive() throws IOException {
        byte[] archive = TestLayouts.podmanDockerArchive("localhost/myapp:1.0", LOWER, UPPER)
                .tar();

        UnpackedImage image = unpack(archive("podman.tar", archive));

        assertLayersApplied(image.rootfs());
        assertConfig(image.config());
        assertThat(image.rootfs().resolve("manifest.json")).doesNotExist();
        assertThat(cache().rootfsFor(archive("podman.tar", archive).withReference("localhost/myapp:1.0"))
                        .resolve("etc/keep"))
                .hasContent("kept");
    }

    @Test
    @DisplayName("podman / skopeo docker-archive as a directory (tar -x of it)")
    void podmanDockerArchiveDirectory() throws IOException {
        Path directory = TestLayouts.podmanDockerArchive("localhost/myapp:1.0", LOWER, UPPER)
                .writeTo(Files.createDirectory(base.resolve("podman")));

        UnpackedImage image = cache().unpack(ImageSource.ofDirectory(directory));

        assertLayersApplied(image.rootfs());
        assertConfig(image.config());
    }

    @Test
    @DisplayName("docker save whose Layers entry is a symlink to another layer in the archive (a repeated layer)")
    void layersThroughSymlinks() throws IOException {
        byte[] x = tar().file("x", "1").bytes();
        byte[] y = tar().file("y", "2").bytes();
        TestLayouts layout = new TestLayouts()
                .file("a".repeat(64) + "/layer.tar", x)
                .file("b".repeat(64) + "/layer.tar", y)
                .symlink("c".repeat(64) + "/layer.tar", "../" + "a".repeat(64) + "/layer.tar");
        layout.file(TestTars.sha256(TestLayouts.config(x, y, x)) + ".json", TestLayouts.config(x, y, x));
        layout.text(
                "manifest.json",
                "[{\"Config\":\"" + TestTars.sha256(TestLayouts.config(x, y, x)) + ".json\","
                        + "\"RepoTags\":[\"dup:1\"],\"Layers\":[\"" + "a".repeat(64) + "/layer.tar\",\""
                        + "b".repeat(64)
                        + "/layer.tar\",\"" + "c".repeat(64) + "/layer.tar\"]}]");

        Path rootfs = cache().rootfsFor(archive("dup.tar", layout.tar()));

        assertThat(rootfs.resolve("x")).hasContent("1");
        assertThat(rootfs.resolve("y")).hasContent("2");
    }

    @Nested
    @DisplayName("refuses, naming the entry, a Layers symlink")
    class LayerSymlinks {

        @Test
        @DisplayName("that climbs above the archive's top")
        void climbsOut() {
            assertRefused(
                    List.of("../../../../etc/passwd"),
                    "is a symlink that leads out of the image ('" + ID + "/layer.tar' -> '../../../../etc/passwd')");
        }

        @Test
        @DisplayName("to an absolute path")
        void absolute() {
            assertRefused(
                    List.of("/etc/passwd"),
                    "is a symlink that leads out of the image ('" + ID
                            + "/layer.tar' -> '/etc/passwd'); a link in an image layout must be relative");
        }

        @Test
        @DisplayName("that loops")
        void loops() {
            assertRefused(
                    List.of("../loop/a", "loop/a -> ../loop/b", "loop/b -> a"),
                    "is a symlink that loops: more than 40 " + "symlinks followed");
        }

        @Test
        @DisplayName("to nothing")
        void dangling() {
            assertRefused(
                    List.of("../nothing.tar"),
                    "is missing from the archive (it is a symlink, '" + ID
                            + "/layer.tar' -> '../nothing.tar', to nothing)");
        }

        static final String ID = "d".repeat(64);

        /** TARGETS: the layer symlink's target, then further links as "name -> target". */
        private void assertRefused(List<String> targets, String reason) {
            byte[] config = TestLayouts.config(LOWER);
            TestLayouts layout = new TestLayouts()
                    .file(TestTars.sha256(config) + ".json", config)
                    .symlink(ID + "/layer.tar", targets.get(0));
            targets.stream().skip(1).map(link -> link.split(" -> ")).forEach(link -> layout.symlink(link[0], link[1]));
            layout.text(
                    "manifest.json",
                    "[{\"Config\":\"" + TestTars.sha256(config) + ".json\",\"RepoTags\":[\"x:1\"]," + "\"Layers\":[\""
                            + ID + "/layer.tar\"]}]");

            assertThatThrownBy(() -> cache().rootfsFor(archive("links.tar", layout.tar())))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageStartingWith(
                            "Image archive links.tar: its layer 1 of 1 (" + ID + "/layer.tar) '" + ID + "/layer.tar' ")
                    .hasMessageContaining(reason);
            assertNoCompleteEntry();
        }
    }

    @Nested
    @DisplayName("takes an archive or directory with manifest.json, index.json or oci-layout at its top for an image, "
            + "and fails naming the file when it is not one")
    class LooksLikeAnImage {

        static final String TAKEN =
                " An archive or directory with manifest.json, index.json or oci-layout at its top is "
                        + "read as an image, never as a rootfs.";

        @Test
        @DisplayName("a manifest.json that is not JSON, in a tar and in a directory")
        void garbageManifest() throws IOException {
            TestTars tar = tar().directory("bin", 0755).file("bin/sh", "#!").file("manifest.json", "<html>");
            assertFails(
                    tar.bytes(),
                    "Image archive x.tar: malformed image layout: manifest.json of image archive x.tar "
                            + "is not valid JSON: ");
            assertFails(
                    tar().file("./manifest.json", "<html>").bytes(),
                    "manifest.json of image archive x.tar is not valid JSON");
        }

        @Test
        @DisplayName("a rootfs whose manifest.json at the top is some other JSON (an app's)")
        void otherJson() {
            byte[] rootfs = tar().directory("./bin", 0755)
                    .file("./bin/sh", "#!")
                    .file("./manifest.json", "{\"name\":\"app\"}")
                    .bytes();
            assertFails(
                    rootfs,
                    "Image archive x.tar: malformed image layout: manifest.json of image archive x.tar must hold "
                            + "a JSON array, found an object." + TAKEN);
        }

        @Test
        @DisplayName("a manifest.json that lists a layer the archive lacks")
        void missingLayer() throws IOException {
            TestLayouts layout = TestLayouts.legacyDockerSave(List.of("x:1"), LOWER);
            String layer = layout.files.keySet().stream()
                    .filter(name -> name.endsWith("/layer.tar"))
                    .findFirst()
                    .orElseThrow();
            layout.files.remove(layer);
            String expected =
                    "Image archive x.tar: its layer 1 of 1 (" + layer + ") '" + layer + "' is missing from the archive";
            assertFails(layout.tar(), expected);
            assertFailsAsDirectory(layout, expected.replace("archive x.tar", "directory " + base.resolve("layout")));
        }

        @Test
        @DisplayName("an oci-layout without index.json")
        void ociLayoutWithoutIndex() throws IOException {
            TestLayouts layout = new TestLayouts()
                    .text("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}")
                    .file("blobs/sha256/" + TestTars.sha256(LOWER), LOWER);
            String expected =
                    "Image archive x.tar: it holds oci-layout but no index.json (nor a docker save manifest.json), "
                            + "so it is an incomplete OCI image layout." + TAKEN;
            assertFails(layout.tar(), expected);
            assertFailsAsDirectory(layout, expected.replace("archive x.tar", "directory " + base.resolve("layout")));
        }

        @Test
        @DisplayName("an index.json that is not an OCI index, in a directory")
        void badIndexDirectory() throws IOException {
            TestLayouts layout = new TestLayouts().text("index.json", "[]").text("etc/hostname", "box");
            assertFailsAsDirectory(
                    layout,
                    "Image directory " + base.resolve("layout") + ": malformed image layout: index.json"
                            + " of image directory " + base.resolve("layout")
                            + " must hold a JSON object, found an array." + TAKEN);
        }

        @Test
        @DisplayName("but not a rootfs with manifest.json or index.json deeper down")
        void deeperIsFine() throws IOException {
            byte[] rootfs = tar().directory("etc", 0755)
                    .file("etc/manifest.json", "{}")
                    .file("etc/index.json", "x")
                    .directory("srv", 0755)
                    .file("srv/oci-layout", "x")
                    .bytes();
            Path unpacked = cache().rootfsFor(archive("deep.tar", rootfs));
            assertThat(unpacked.resolve("etc/manifest.json")).hasContent("{}");

            Path directory = Files.createDirectories(base.resolve("rootfs/etc"));
            Files.writeString(directory.resolve("index.json"), "x");
            assertThat(cache().rootfsFor(ImageSource.ofDirectory(base.resolve("rootfs"))))
                    .isEqualTo(base.resolve("rootfs"));
        }

        private void assertFails(byte[] archive, String message) {
            assertThatThrownBy(() -> cache().rootfsFor(archive("x.tar", archive)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining(message);
            assertNoCompleteEntry();
        }

        private void assertFailsAsDirectory(TestLayouts layout, String message) throws IOException {
            Path directory = layout.writeTo(Files.createDirectory(base.resolve("layout")));
            assertThatThrownBy(() -> cache().rootfsFor(ImageSource.ofDirectory(directory)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining(message);
            assertNoCompleteEntry();
        }
    }

    @Nested
    @DisplayName("chooses by tag")
    class Tags {

        final byte[] archive = TestLayouts.legacyDockerSave(
                        TestLayouts.legacyDockerSave(
                                List.of("myapp:1.0"),
                                tar().file("which", "myapp").bytes()),
                        List.of("registry.example.com/other:2", "other:latest"),
                        tar().file("which", "other").bytes())
                .tar();

        @Test
        @DisplayName("in Docker's short and long forms")
        void byTag() {
            assertThat(cache().rootfsFor(archive("two.tar", archive).withReference("myapp:1.0"))
                            .resolve("which"))
                    .hasContent("myapp");
            assertThat(cache().rootfsFor(archive("two.tar", archive).withReference("docker.io/library/other"))
                            .resolve("which"))
                    .hasContent("other");
        }

        @Test
        @DisplayName("and without one refuses an archive with several images, listing the tags")
        void severalImagesNoTag() {
            assertThatThrownBy(() -> cache().rootfsFor(archive("two.tar", archive)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessage("Image archive two.tar holds 2 images; choose one by tag with 'archive two.tar#TAG'. "
                            + "Its tags: myapp:1.0, registry.example.com/other:2, other:latest");
            assertNoCompleteEntry();
        }

        @Test
        @DisplayName("and refuses an unknown tag, listing the tags")
        void unknownTag() {
            assertThatThrownBy(
                            () -> cache().rootfsFor(archive("two.tar", archive).withReference("myapp:2.0")))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("holds no image tagged 'myapp:2.0'. Its tags: myapp:1.0, ");
        }

        @Test
        @DisplayName("and refuses a tag on a plain rootfs tar")
        void tagOnPlainTar() {
            assertThatThrownBy(
                            () -> cache().rootfsFor(archive("plain.tar", LOWER).withReference("x:1")))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("is a plain rootfs tar")
                    .hasMessageContaining("remove '#x:1'");
        }
    }

    @Test
    @DisplayName("a directory replaced by a file, then by a directory again, brings none of its old files back")
    void directoryFileDirectory() throws IOException {
        byte[] first = tar().directory("d", 0755).file("d/old", "first layer").bytes();
        byte[] second = tar().file("d", "a file now").bytes();
        byte[] third = tar().directory("d", 0700).file("d/new", "third layer").bytes();

        Path rootfs = cache().rootfsFor(archive("three.tar", TestImages.dockerSave("{}", first, second, third)));

        assertThat(rootfs.resolve("d")).isDirectory();
        assertThat(SafeTarUnpackerTests.mode(rootfs.resolve("d"))).isEqualTo(0700);
        try (Stream<Path> files = Files.list(rootfs.resolve("d"))) {
            assertThat(files.map(path -> path.getFileName().toString())).containsExactly("new");
        }
        Path back = cache().rootfsFor(archive("two.tar", TestImages.dockerSave("{}", first, second)));
        assertThat(back.resolve("d")).isRegularFile().hasContent("a file now");
    }

    @Test
    @DisplayName("an opaque marker in a lower layer's symlink to a host directory empties nothing there")
    void opaqueMarkerInLowerSymlink() throws IOException {
        Path outside = hostDirectory();
        byte[] archive = belowHostLink(outside, "link/.wh..wh..opq");

        Path rootfs = cache().rootfsFor(archive("opaque.tar", archive));

        assertThat(Files.readSymbolicLink(rootfs.resolve("link"))).isEqualTo(outside);
        assertThat(outside.resolve("sentinel")).hasContent("untouched");
    }

    @Nested
    @DisplayName("fails on a broken OCI layout, naming the image and the blob, and leaves no cache entry behind,")
    class BrokenOciLayouts {

        @Test
        @DisplayName("when a layer blob is missing")
        void missingLayerBlob() {
            TestLayouts layout = oneLayer(TestLayouts.config(LOWER));
            layout.files.remove("blobs/sha256/" + TestTars.sha256(LOWER));

            assertBroken(
                    layout,
                    "Image archive broken.tar: its layer 1 of 1 (sha256:" + TestTars.sha256(LOWER) + ") 'blobs/sha256/"
                            + TestTars.sha256(LOWER) + "' is missing from the archive; it is incomplete");
        }

        @Test
        @DisplayName("when the config is not JSON")
        void configNotJson() {
            byte[] config = "<html>not a config</html>".getBytes(StandardCharsets.UTF_8);
            TestLayouts layout = oneLayer(config);

            assertBroken(
                    layout,
                    "Image archive broken.tar: malformed image layout: config sha256:" + TestTars.sha256(config)
                            + " of image archive broken.tar is not valid JSON");
        }

        @Test
        @DisplayName("when the config or the manifest does not match its digest")
        void configAndManifestTampered() {
            byte[] config = TestLayouts.config(LOWER);
            TestLayouts tamperedConfig = oneLayer(config);
            tamperedConfig.files.put(
                    "blobs/sha256/" + TestTars.sha256(config),
                    TestLayouts.config(tar().file("other", "x").bytes()));
            assertBroken(
                    tamperedConfig,
                    "Image archive broken.tar: blob sha256:" + TestTars.sha256(config) + " (config, file 'blobs/sha256/"
                            + TestTars.sha256(config) + "') does not match its digest");

            TestLayouts tamperedManifest = new TestLayouts();
            byte[] manifest = tamperedManifest.ociManifest(
                    config, List.of(LOWER), List.of("application/vnd.oci.image.layer.v1.tar"));
            tamperedManifest.index(tamperedManifest.descriptor(TestLayouts.OCI_MANIFEST, manifest, ""));
            tamperedManifest.files.put(
                    "blobs/sha256/" + TestTars.sha256(manifest),
                    new String(manifest, StandardCharsets.UTF_8)
                            .replace("\"layers\"", "\"layers\" ")
                            .getBytes(StandardCharsets.UTF_8));
            assertBroken(
                    tamperedManifest,
                    "Image archive broken.tar: blob sha256:" + TestTars.sha256(manifest)
                            + " (manifest, file 'blobs/sha256/" + TestTars.sha256(manifest)
                            + "') does not match its digest");
        }

        @Test
        @DisplayName("when its image index has no manifest for this platform")
        void indexWithoutThisPlatform() {
            TestLayouts layout = new TestLayouts();
            byte[] manifest = layout.ociManifest(
                    TestLayouts.config(LOWER), List.of(LOWER), List.of("application/vnd.oci.image.layer.v1.tar"));
            String entries = List.of("s390x", "ppc64le").stream()
                    .map(arch -> layout.descriptor(
                            TestLayouts.OCI_MANIFEST,
                            manifest,
                            "\"platform\":{\"os\":\"linux\",\"architecture\":\"" + arch + "\"}"))
                    .collect(java.util.stream.Collectors.joining(","));
            byte[] imageIndex = ("{\"schemaVersion\":2,\"mediaType\":\"" + TestLayouts.OCI_INDEX + "\",\"manifests\":["
                            + entries + "]}")
                    .getBytes(StandardCharsets.UTF_8);
            layout.index(layout.descriptor(TestLayouts.OCI_INDEX, imageIndex, ""));

            assertBroken(
                    layout,
                    "Image archive broken.tar: image index sha256:" + TestTars.sha256(imageIndex)
                            + " has no manifest for linux/" + RuntimePlatform.architecture()
                            + ", only for: linux/s390x, linux/ppc64le");
        }

        private TestLayouts oneLayer(byte[] config) {
            TestLayouts layout = new TestLayouts();
            byte[] manifest =
                    layout.ociManifest(config, List.of(LOWER), List.of("application/vnd.oci.image.layer.v1.tar"));
            return layout.index(layout.descriptor(TestLayouts.OCI_MANIFEST, manifest, ""));
        }

        private void assertBroken(TestLayouts layout, String message) {
            assertThatThrownBy(() -> cache().rootfsFor(archive("broken.tar", layout.tar())))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageStartingWith(message);
            assertNoCompleteEntry();
        }
    }

    @Nested
    @DisplayName("fails, leaving no cache entry behind,")
    class Failures {

        @Test
        @DisplayName("when a blob does not match its digest, naming the blob")
        void digestMismatch() throws IOException {
            TestLayouts layout = multiPlatformLayout();
            Path directory = layout.writeTo(Files.createDirectory(base.resolve("oci")));
            String layerBlob = layout.files.entrySet().stream()
                    .filter(file -> Arrays.equals(file.getValue(), UPPER))
                    .findFirst()
                    .orElseThrow()
                    .getKey();
            byte[] tampered = UPPER.clone();
            tampered[512] ^= 1; // first byte of the first file's content: the tar stays valid
            Files.write(directory.resolve(layerBlob), tampered);

            assertThatThrownBy(() -> cache().rootfsFor(ImageSource.ofDirectory(directory)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("blob sha256:" + TestTars.sha256(UPPER))
                    .hasMessageContaining(
                            "does not match its digest: its content hashes to sha256:" + TestTars.sha256(tampered));
            assertNoCompleteEntry();
        }

        @Test
        @DisplayName("when a legacy layer.tar does not match the config's diff_id")
        void legacyDiffIdMismatch() {
            TestLayouts layout = TestLayouts.legacyDockerSave(List.of("myapp:1.0"), LOWER);
            byte[] tampered = LOWER.clone();
            tampered[512] ^= 1;
            layout.files.replaceAll((path, content) -> path.endsWith("layer.tar") ? tampered : content);

            assertThatThrownBy(() -> cache().rootfsFor(archive("legacy.tar", layout.tar())))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("blob sha256:" + TestTars.sha256(LOWER) + " (layer 1 of 1");
            assertNoCompleteEntry();
        }

        @Test
        @DisplayName("on corrupt gzip, zstd and xz layers (with matching digests), naming the layer")
        void corruptLayers() {
            for (byte[] compressed : List.of(
                    SafeTarUnpackerTests.corruptedGzip(),
                    corrupt(TestTars.zstd(bigLayer())),
                    corrupt(TestTars.xz(bigLayer())))) {
                TestLayouts layout = new TestLayouts();
                byte[] manifest = layout.ociManifest(
                        TestLayouts.config(LOWER),
                        List.of(compressed),
                        List.of("application/vnd.oci.image.layer.v1.tar+gzip"));
                layout.index(layout.descriptor(TestLayouts.OCI_MANIFEST, manifest, ""));

                assertThatThrownBy(() -> cache().rootfsFor(archive("corrupt.tar", layout.tar())))
                        .isInstanceOf(ImageUnpackException.class)
                        .hasMessageContaining(
                                "Image archive corrupt.tar, layer 1 of 1 (sha256:" + TestTars.sha256(compressed));
            }
            assertNoCompleteEntry();
        }

        @Test
        @DisplayName("on a truncated docker save archive, naming where it broke")
        void truncatedArchive() {
            byte[] archive = TestLayouts.legacyDockerSave(List.of("myapp:1.0"), LOWER, UPPER)
                    .tar();
            byte[] truncated = Arrays.copyOf(archive, archive.length / 2 + 100);

            assertThatThrownBy(() -> cache().rootfsFor(archive("truncated.tar", truncated)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageStartingWith("Image archive truncated.tar is truncated");
            assertNoCompleteEntry();
        }

        @Test
        @DisplayName("on a layer that climbs out with '..'")
        void dotDotInLayer() {
            assertRefused(tar().file("../escaped", "x").bytes(), "climbs out of the rootfs");
        }

        @Test
        @DisplayName("on a layer that writes through its own symlink")
        void symlinkThenWriteInLayer() {
            assertRefused(
                    tar().symlink("link", base.resolve("outside").toString())
                            .file("link/file", "x")
                            .bytes(),
                    "through the symlink 'link'");
        }

        @Test
        @DisplayName("on a layer that writes through a lower layer's symlink (a directory turned symlink)")
        void writeThroughLowerSymlink() {
            byte[] third = tar().file("becomes-link/planted", "x").bytes();
            byte[] archive = TestLayouts.legacyDockerSave(List.of("x:1"), LOWER, UPPER, third)
                    .tar();

            assertThatThrownBy(() -> cache().rootfsFor(archive("three.tar", archive)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("layer 3 of 3")
                    .hasMessageContaining("entry 'becomes-link/planted' is refused")
                    .hasMessageContaining("through the symlink 'becomes-link'");
            assertThat(Path.of("/etc/planted")).doesNotExist();
        }

        @Test
        @DisplayName("on a whiteout that names no file")
        void emptyWhiteout() {
            assertRefused(tar().file("etc/.wh..", "").bytes(), "is a whiteout for '.'");
        }

        @Test
        @DisplayName("on whiteouts for '..' and for an absolute path")
        void climbingWhiteouts() {
            assertRefused(tar().file("etc/.wh...", "").bytes(), "is a whiteout for '..', which names no file");
            assertRefused(tar().file("/etc/.wh.keep", "").bytes(), "its name '/etc/.wh.keep' is absolute");
        }

        @Test
        @DisplayName("on a whiteout below a lower layer's symlink to a host directory, which keeps its files")
        void whiteoutThroughLowerSymlink() throws IOException {
            Path outside = hostDirectory();
            byte[] archive = belowHostLink(outside, "link/.wh.sentinel");

            assertThatThrownBy(() -> cache().rootfsFor(archive("whiteout.tar", archive)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("Image archive whiteout.tar, layer 3 of 3")
                    .hasMessageContaining("entry 'link/.wh.sentinel' is refused")
                    .hasMessageContaining("'link/sentinel' would be deleted through the symlink 'link'");
            assertThat(outside.resolve("sentinel")).hasContent("untouched");
            assertNoCompleteEntry();
        }

        private void assertRefused(byte[] layer, String reason) {
            byte[] archive =
                    TestLayouts.legacyDockerSave(List.of("x:1"), LOWER, layer).tar();
            assertThatThrownBy(() -> cache().rootfsFor(archive("evil.tar", archive)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("Image archive evil.tar, layer 2 of 2")
                    .hasMessageContaining(reason);
            assertThat(base.resolve("escaped")).doesNotExist();
            assertThat(base.resolve("outside")).doesNotExist();
            assertNoCompleteEntry();
        }
    }

    /** index.json → image index → amd64 and arm64 manifests, each LOWER+UPPER plus a file naming the arch. */
    private static TestLayouts multiPlatformLayout() {
        TestLayouts layout = new TestLayouts();
        StringBuilder platforms = new StringBuilder();
        for (String arch : List.of("arm64", "amd64", "riscv64")) {
            byte[] archLayer = tar().file("arch", arch).bytes();
            byte[] manifest = layout.ociManifest(
                    TestLayouts.config(LOWER, UPPER, archLayer),
                    List.of(LOWER, UPPER, archLayer),
                    List.of(
                            "application/vnd.oci.image.layer.v1.tar",
                            "application/vnd.oci.image.layer.v1.tar",
                            "application/vnd.oci.image.layer.v1.tar"));
            platforms
                    .append(platforms.length() == 0 ? "" : ",")
                    .append(layout.descriptor(
                            TestLayouts.OCI_MANIFEST,
                            manifest,
                            "\"platform\":{\"os\":\"linux\",\"architecture\":\"" + arch + "\"}"));
        }
        byte[] imageIndex = ("{\"schemaVersion\":2,\"mediaType\":\"" + TestLayouts.OCI_INDEX + "\",\"manifests\":["
                        + platforms + "]}")
                .getBytes(StandardCharsets.UTF_8);
        return layout.index(layout.descriptor(
                TestLayouts.OCI_INDEX,
                imageIndex,
                "\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}"));
    }

    static void assertLayersApplied(Path rootfs) throws IOException {
        assertThat(rootfs.resolve("etc/keep")).hasContent("kept");
        assertThat(rootfs.resolve("etc/gone")).doesNotExist();
        assertThat(rootfs.resolve("etc/gonedir")).doesNotExist();
        assertThat(rootfs.resolve("opt/new")).hasContent("written before the marker");
        assertThat(rootfs.resolve("opt/after")).hasContent("written after the marker");
        assertThat(rootfs.resolve("opt/mixed/upper")).hasContent("written before the marker too");
        assertThat(rootfs.resolve("opt/mixed/lower")).doesNotExist();
        assertThat(rootfs.resolve("opt/old")).doesNotExist();
        assertThat(rootfs.resolve("opt/sub")).doesNotExist();
        assertThat(rootfs.resolve("becomes-dir")).isDirectory();
        assertThat(rootfs.resolve("becomes-dir/child")).hasContent("now a directory");
        assertThat(rootfs.resolve("becomes-link")).isSymbolicLink();
        assertThat(Files.readSymbolicLink(rootfs.resolve("becomes-link"))).hasToString("/etc");
        assertThat(Path.of("/etc/inner")).doesNotExist();
        try (Stream<Path> all = Files.walk(rootfs)) {
            assertThat(all.map(path -> path.getFileName().toString())).noneMatch(name -> name.startsWith(".wh."));
        }
    }

    static void assertConfig(ImageConfig config) {
        assertThat(config.env()).containsExactly("PATH=/usr/bin:/bin", "GREETING=hello \"world\"");
        assertThat(config.workingDir()).isEqualTo("/app");
        assertThat(config.user()).isEqualTo("1000:100");
        assertThat(config.entrypoint()).containsExactly("/bin/sh", "-c");
        assertThat(config.cmd()).containsExactly("echo hi");
        assertThat(config.command()).containsExactly("/bin/sh", "-c", "echo hi");
    }

    private static byte[] bigLayer() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 20_000; i++) {
            text.append("line ").append(i).append(" of a compressible file\n");
        }
        return tar().file("one", text.toString()).file("two", text.toString()).bytes();
    }

    private static byte[] corrupt(byte[] compressed) {
        byte[] damaged = compressed.clone();
        for (int i = damaged.length / 2; i < damaged.length / 2 + 64; i++) {
            damaged[i] ^= 0x5a;
        }
        return damaged;
    }

    private UnpackedImage unpack(ImageSource source) {
        UnpackedImage image = cache().unpack(source);
        ImageCache.forgetHandedOut();
        assertThat(cache().unpack(source).config())
                .as("config read back from the cache entry")
                .isEqualTo(image.config());
        return image;
    }

    /** A host directory holding {@code sentinel}, "untouched". */
    private Path hostDirectory() throws IOException {
        Path outside = Files.createDirectory(base.resolve("host"));
        Files.writeString(outside.resolve("sentinel"), "untouched");
        return outside;
    }

    /** LOWER, a layer with {@code link} to {@code outside}, then a layer with the empty file {@code entry} only. */
    private static byte[] belowHostLink(Path outside, String entry) {
        return TestLayouts.legacyDockerSave(
                        List.of("x:1"),
                        LOWER,
                        tar().symlink("link", outside.toString()).bytes(),
                        tar().file(entry, "").bytes())
                .tar();
    }

    private void assertNoCompleteEntry() {
        try (Stream<Path> entries = Files.list(cacheDirectory.resolve("images"))) {
            assertThat(entries.filter(path -> Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)))
                    .isEmpty();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private ImageCache cache() {
        return new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), note -> {});
    }

    static ImageSource.Archive archive(String name, byte[] bytes) {
        return new ImageSource.Archive("archive " + name, () -> new ByteArrayInputStream(bytes));
    }
}
