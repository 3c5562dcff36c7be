package dev.isolated.testimages;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;

/**
 * An OCI image layout directory holding several images, each named by its {@code org.opencontainers.image.ref.name}
 * (what {@code skopeo copy oci:<dir>:<name>} picks), layers shared between images stored once. Layers are
 * {@link RootfsLayer} files, moved into the layout's {@code blobs/sha256/}.
 */
public final class OciLayoutWriter {

    private static final String MANIFEST = "application/vnd.oci.image.manifest.v1+json";

    private final Path directory;
    private final Path blobs;
    private final List<String> manifests = new ArrayList<>();

    /** Starts a layout in {@code directory} (created; it must not hold one yet). */
    public OciLayoutWriter(Path directory) throws IOException {
        this.directory = directory;
        this.blobs = Files.createDirectories(directory.resolve("blobs/sha256"));
        Files.writeString(directory.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    }

    /** @return the layout's directory */
    public Path directory() {
        return directory;
    }

    /** Moves a layer's file into the blobs (a second call for the same layer keeps the first). */
    public RootfsLayer.Written store(RootfsLayer.Written layer) throws IOException {
        Path blob = blobs.resolve(layer.digest().substring("sha256:".length()));
        if (!blob.equals(layer.file())) {
            if (Files.exists(blob)) {
                Files.delete(layer.file());
            } else {
                Files.move(layer.file(), blob, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        return new RootfsLayer.Written(
                blob, layer.digest(), layer.size(), layer.diffId(), layer.entries(), layer.whiteouts());
    }

    /**
     * Adds an image for this host's architecture and writes {@code index.json} again.
     *
     * @param name its ref.name, e.g. {@code redis}
     * @param runConfig the config's {@code "config"} object as JSON, e.g. {@code {"User":"redis"}}
     * @param layers its layers, lowest first, already {@link #store stored}
     * @return the manifest's digest and the config's
     */
    public Added add(String name, String runConfig, List<RootfsLayer.Written> layers) throws IOException {
        for (RootfsLayer.Written layer : layers) {
            if (!layer.file().getParent().equals(blobs)) {
                throw new IllegalArgumentException("Layer " + layer.digest() + " is not stored in " + blobs);
            }
        }
        String diffIds =
                layers.stream().map(layer -> '"' + layer.diffId() + '"').collect(Collectors.joining(","));
        byte[] config = ("{\"architecture\":\"" + architecture() + "\",\"os\":\"linux\",\"config\":" + runConfig
                        + ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + diffIds + "]}}")
                .getBytes(StandardCharsets.UTF_8);
        String configDigest = writeBlob(config);
        String layerDescriptors = layers.stream()
                .map(layer -> "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\"," + "\"digest\":\""
                        + layer.digest() + "\",\"size\":" + layer.size() + "}")
                .collect(Collectors.joining(","));
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"" + MANIFEST + "\",\"config\":{\"mediaType\":"
                        + "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest + "\",\"size\":"
                        + config.length + "},\"layers\":[" + layerDescriptors + "]}")
                .getBytes(StandardCharsets.UTF_8);
        String digest = writeBlob(manifest);
        manifests.add("{\"mediaType\":\"" + MANIFEST + "\",\"digest\":\"" + digest + "\",\"size\":" + manifest.length
                + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"" + name + "\"}}");
        Files.writeString(
                directory.resolve("index.json"),
                "{\"schemaVersion\":2,\"manifests\":[" + String.join(",", manifests) + "]}");
        return new Added(digest, configDigest);
    }

    /**
     * An image added to the layout.
     *
     * @param manifest its manifest's digest
     * @param config its config's digest
     */
    public record Added(String manifest, String config) {}

    /** The OCI name of this JVM's architecture. */
    static String architecture() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "x86_64", "amd64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            default -> arch;
        };
    }

    private String writeBlob(byte[] content) throws IOException {
        MessageDigest sha256;
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String hex = HexFormat.of().formatHex(sha256.digest(content));
        Files.write(blobs.resolve(hex), content);
        return "sha256:" + hex;
    }
}
