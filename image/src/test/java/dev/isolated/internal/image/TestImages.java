package dev.isolated.internal.image;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Images with a config, written as {@code docker save} does, for end-to-end tests outside this package. */
public final class TestImages {
    private TestImages() {}

    /**
     * @param runConfig the config's {@code "config"} object as JSON, e.g. {@code {"User":"app","Cmd":["id"]}}
     * @param layers the uncompressed layer tars, lowest first
     * @return a legacy {@code docker save} archive tagged {@code test:latest}
     */
    public static byte[] dockerSave(String runConfig, byte[]... layers) {
        return TestLayouts.legacyDockerSaveWithConfig(
                        new TestLayouts(), List.of("test:latest"), config(runConfig, layers), layers)
                .tar();
    }

    /**
     * @param runConfig the config's {@code "config"} object as JSON
     * @param layers the uncompressed layer tars, lowest first
     * @return a {@code docker-archive} as podman and skopeo write it ({@code <sha256>.tar} layers at the
     *     top, {@code <id>/layer.tar} symlinks beside them), tagged {@code test:latest}
     */
    public static byte[] podmanDockerArchive(String runConfig, byte[]... layers) {
        return TestLayouts.podmanDockerArchiveWithConfig("test:latest", config(runConfig, layers), layers)
                .tar();
    }

    /**
     * Writes an OCI image layout (one image, tagged {@code 1.0} by its ref.name annotation) into
     * {@code directory}.
     *
     * @param runConfig the config's {@code "config"} object as JSON
     * @param layers the uncompressed layer tars, lowest first
     */
    public static Path ociLayout(Path directory, String runConfig, byte[]... layers) {
        TestLayouts layout = new TestLayouts();
        List<String> types = Arrays.stream(layers)
                .map(layer -> "application/vnd.oci.image.layer.v1.tar")
                .toList();
        byte[] manifest = layout.ociManifest(config(runConfig, layers), List.of(layers), types);
        layout.index(layout.descriptor(
                TestLayouts.OCI_MANIFEST, manifest, "\"annotations\":{\"org.opencontainers.image.ref.name\":\"1.0\"}"));
        return layout.writeTo(directory);
    }

    private static byte[] config(String runConfig, byte[]... layers) {
        String template = "{\"architecture\":\"" + RuntimePlatform.architecture() + "\",\"os\":\"linux\",\"config\":"
                + runConfig.replace("%", "%%") + ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}";
        return TestLayouts.config(template, layers);
    }

    /**
     * @param directories directories to create (mode 0755)
     * @param files text files (mode 0644) by path
     * @return an uncompressed layer tar
     */
    public static byte[] layer(List<String> directories, Map<String, String> files) {
        TestTars tar = TestTars.tar();
        directories.forEach(dir -> tar.directory(dir, 0755));
        files.forEach(tar::file);
        return tar.bytes();
    }
}
