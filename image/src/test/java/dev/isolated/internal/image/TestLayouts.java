package dev.isolated.internal.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Writes image layouts for tests, as {@code docker save} and OCI tools do: legacy {@code docker save}
 * ({@code <id>/layer.tar}), Docker 25+ (OCI layout plus {@code manifest.json}) and plain OCI layouts,
 * as a directory or as a tar.
 */
final class TestLayouts {

    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String CONFIG = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
            + "\"Env\":[\"PATH=/usr/bin:/bin\",\"GREETING=hello \\\"world\\\"\"],\"WorkingDir\":\"/app\","
            + "\"User\":\"1000:100\",\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"]},"
            + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}";

    /** The files of the layout, by path, in the order they go into a tar. */
    final Map<String, byte[]> files = new LinkedHashMap<>();

    /** Symlinks of the layout (name to target), written after the files. */
    final Map<String, String> symlinks = new LinkedHashMap<>();

    /** The mode of every file in {@link #tar()}. */
    int fileMode = 0644;

    /** Adds a blob under {@code blobs/sha256/} and returns its digest. */
    String blob(byte[] content) {
        String digest = "sha256:" + TestTars.sha256(content);
        files.put("blobs/sha256/" + TestTars.sha256(content), content);
        return digest;
    }

    /** An OCI descriptor for a blob added with {@link #blob}. */
    String descriptor(String mediaType, byte[] content, String extra) {
        return "{\"mediaType\":\"" + mediaType + "\",\"digest\":\"" + blob(content) + "\",\"size\":" + content.length
                + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    /** A config whose diff_ids are the digests of the (uncompressed) layer tars. */
    static byte[] config(byte[]... uncompressedLayers) {
        return config(CONFIG, uncompressedLayers);
    }

    /** A config from TEMPLATE (with one {@code %s} for the diff_ids) for the (uncompressed) layer tars. */
    static byte[] config(String template, byte[]... uncompressedLayers) {
        String diffIds = java.util.Arrays.stream(uncompressedLayers)
                .map(layer -> "\"sha256:" + TestTars.sha256(layer) + "\"")
                .collect(Collectors.joining(","));
        return template.formatted(diffIds).getBytes(StandardCharsets.UTF_8);
    }

    /** Adds config, layers and manifest as blobs; returns the manifest's bytes. */
    byte[] ociManifest(byte[] config, List<byte[]> layers, List<String> layerTypes) {
        List<String> layerDescriptors = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            layerDescriptors.add(descriptor(layerTypes.get(i), layers.get(i), ""));
        }
        String manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + OCI_MANIFEST + "\",\"config\":"
                + descriptor("application/vnd.oci.image.config.v1+json", config, "") + ",\"layers\":["
                + String.join(",", layerDescriptors) + "]}";
        return manifest.getBytes(StandardCharsets.UTF_8);
    }

    /** Writes {@code oci-layout} and {@code index.json} with the given descriptors. */
    TestLayouts index(String... descriptors) {
        files.put("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8));
        files.put(
                "index.json",
                ("{\"schemaVersion\":2,\"mediaType\":\"" + OCI_INDEX + "\",\"manifests\":["
                                + String.join(",", descriptors) + "]}")
                        .getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** Adds a file as it is. */
    TestLayouts file(String path, byte[] content) {
        files.put(path, content);
        return this;
    }

    /** Adds a text file as it is. */
    TestLayouts text(String path, String content) {
        return file(path, content.getBytes(StandardCharsets.UTF_8));
    }

    /** Adds a symlink. */
    TestLayouts symlink(String path, String target) {
        symlinks.put(path, target);
        return this;
    }

    /** The layout as an uncompressed tar, with the files in insertion order, then the symlinks. */
    byte[] tar() {
        TestTars tar = TestTars.tar();
        files.forEach((path, content) -> tar.file(path, fileMode, content));
        symlinks.forEach(tar::symlink);
        return tar.bytes();
    }

    /** Writes the layout into {@code directory}. */
    Path writeTo(Path directory) {
        try {
            for (Map.Entry<String, byte[]> file : files.entrySet()) {
                Path path = directory.resolve(file.getKey());
                Files.createDirectories(path.getParent());
                Files.write(path, file.getValue());
            }
            for (Map.Entry<String, String> link : symlinks.entrySet()) {
                Path path = directory.resolve(link.getKey());
                Files.createDirectories(path.getParent());
                Files.createSymbolicLink(path, Path.of(link.getValue()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return directory;
    }

    /** A legacy {@code docker save} archive: {@code <id>/layer.tar}, {@code <config>.json}, manifest.json. */
    static TestLayouts legacyDockerSave(List<String> tags, byte[]... layers) {
        return legacyDockerSave(new TestLayouts(), tags, layers);
    }

    /** Adds one more image to a legacy {@code docker save} archive. */
    static TestLayouts legacyDockerSave(TestLayouts layout, List<String> tags, byte[]... layers) {
        return legacyDockerSaveWithConfig(layout, tags, config(layers), layers);
    }

    /** Adds one more image, with its own CONFIG, to a legacy {@code docker save} archive. */
    static TestLayouts legacyDockerSaveWithConfig(
            TestLayouts layout, List<String> tags, byte[] config, byte[]... layers) {
        String configName = TestTars.sha256(config) + ".json";
        List<String> layerPaths = new ArrayList<>();
        for (byte[] layer : layers) {
            String id = TestTars.sha256(("layer id " + TestTars.sha256(layer)).getBytes(StandardCharsets.UTF_8));
            layout.text(id + "/VERSION", "1.0");
            layout.file(id + "/layer.tar", layer);
            layerPaths.add(id + "/layer.tar");
        }
        layout.file(configName, config);
        List<String> entries = new ArrayList<>();
        byte[] previous = layout.files.remove("manifest.json");
        if (previous != null) {
            String text = new String(previous, StandardCharsets.UTF_8);
            entries.add(text.substring(1, text.length() - 1));
        }
        entries.add("{\"Config\":\"" + configName + "\",\"RepoTags\":[" + quoted(tags) + "],\"Layers\":["
                + quoted(layerPaths) + "]}");
        layout.text("manifest.json", "[" + String.join(",", entries) + "]");
        layout.text("repositories", "{}");
        return layout;
    }

    static String quoted(List<String> values) {
        return values.stream().map(value -> "\"" + value + "\"").collect(Collectors.joining(","));
    }

    /**
     * A {@code docker-archive} as podman ({@code podman save}) and skopeo ({@code skopeo copy ...
     * docker-archive:x.tar:name:tag}) write it, through containers/image: each layer once at the top as
     * {@code <sha256 of the layer>.tar}, the config as {@code <sha256>.json}, a directory per layer with
     * {@code layer.tar} a symlink to {@code ../<sha256>.tar} beside {@code VERSION} and {@code json};
     * manifest.json's {@code Layers} name the top-level files. Files are read-only (0444), as skopeo
     * writes them, and there are no directory entries. (Compared with skopeo 1.9's output of a busybox
     * image in DockerArchiveTests.)
     */
    static TestLayouts podmanDockerArchive(String tag, byte[]... layers) {
        return podmanDockerArchiveWithConfig(tag, config(layers), layers);
    }

    /** {@link #podmanDockerArchive} with its own CONFIG. */
    static TestLayouts podmanDockerArchiveWithConfig(String tag, byte[] config, byte[]... layers) {
        TestLayouts layout = new TestLayouts();
        layout.fileMode = 0444;
        String configName = TestTars.sha256(config) + ".json";
        List<String> layerPaths = new ArrayList<>();
        for (byte[] layer : layers) {
            String name = TestTars.sha256(layer) + ".tar";
            layout.file(name, layer);
            layerPaths.add(name);
        }
        layout.file(configName, config);
        String id = null;
        for (byte[] layer : layers) {
            id = TestTars.sha256(("podman layer id " + TestTars.sha256(layer)).getBytes(StandardCharsets.UTF_8));
            layout.symlink(id + "/layer.tar", "../" + TestTars.sha256(layer) + ".tar");
            layout.text(id + "/VERSION", "1.0");
            layout.text(id + "/json", "{\"id\":\"" + id + "\"}");
        }
        int colon = tag.lastIndexOf(':');
        layout.text(
                "manifest.json",
                "[{\"Config\":\"" + configName + "\",\"RepoTags\":[\"" + tag + "\"],\"Layers\":[" + quoted(layerPaths)
                        + "]}]");
        layout.text(
                "repositories",
                "{\"" + tag.substring(0, colon) + "\":{\"" + tag.substring(colon + 1) + "\":\"" + id + "\"}}");
        return layout;
    }
}
