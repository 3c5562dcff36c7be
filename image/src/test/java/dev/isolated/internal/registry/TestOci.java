package dev.isolated.internal.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** OCI image layouts for registry tests: one image tagged {@code 1.0}, any architecture, gzip layers. */
public final class TestOci {

    private TestOci() {}

    /**
     * @param runConfig the config's {@code "config"} object, e.g. {@code {"Env":["A=b"]}}
     * @return {@code directory}
     */
    public static Path layout(Path directory, String architecture, String runConfig, byte[]... layers) {
        try {
            Path blobs = Files.createDirectories(directory.resolve("blobs/sha256"));
            StringBuilder diffIds = new StringBuilder();
            StringBuilder layerDescriptors = new StringBuilder();
            for (byte[] layer : layers) {
                byte[] compressed = gzip(layer);
                String digest = write(blobs, compressed);
                diffIds.append(diffIds.length() == 0 ? "" : ",")
                        .append('"')
                        .append(digest(layer))
                        .append('"');
                layerDescriptors
                        .append(layerDescriptors.length() == 0 ? "" : ",")
                        .append("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"")
                        .append(digest)
                        .append("\",\"size\":")
                        .append(compressed.length)
                        .append('}');
            }
            byte[] config = ("{\"architecture\":\"" + architecture + "\",\"os\":\"linux\",\"config\":" + runConfig
                            + ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + diffIds + "]}}")
                    .getBytes(StandardCharsets.UTF_8);
            String configDigest = write(blobs, config);
            byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                            + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
                            + configDigest
                            + "\",\"size\":" + config.length + "},\"layers\":[" + layerDescriptors + "]}")
                    .getBytes(StandardCharsets.UTF_8);
            String manifestDigest = write(blobs, manifest);
            Files.writeString(directory.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
            Files.writeString(
                    directory.resolve("index.json"),
                    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                            + "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + manifestDigest
                            + "\",\"size\":"
                            + manifest.length + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"1.0\"}}]}");
            return directory;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The layer as this layout stores it and a registry serves it: gzip, reproducibly (skopeo pushes a gzip layer
     * as it is, but compresses an uncompressed one its own way).
     */
    public static byte[] gzip(byte[] layer) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream out = new java.util.zip.GZIPOutputStream(bytes)) {
            out.write(layer);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Writes a blob; returns its digest. */
    static String write(Path blobs, byte[] content) throws IOException {
        String digest = "sha256:" + Digests.sha256Hex(content);
        Files.write(blobs.resolve(digest.substring(7)), content);
        return digest;
    }

    /** The digest of {@code content}. */
    public static String digest(byte[] content) {
        return "sha256:" + Digests.sha256Hex(content);
    }
}
