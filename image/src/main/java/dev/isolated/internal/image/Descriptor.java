package dev.isolated.internal.image;

import dev.isolated.internal.json.JsonException;
import dev.isolated.internal.json.JsonObject;
import java.util.Map;
import java.util.Set;

/**
 * An OCI content descriptor: what a manifest or index says about a blob.
 *
 * @param mediaType the blob's media type, {@code ""} when not given
 * @param digest {@code <algorithm>:<hex>}
 * @param size the blob's size in bytes, or -1 when not given (as in {@code docker save}'s manifest.json)
 * @param annotations the descriptor's annotations
 * @param platform the platform of an image index entry, or {@code null}
 */
record Descriptor(String mediaType, String digest, long size, Map<String, String> annotations, Platform platform) {

    /** The OCI and Docker media types of image indexes (manifest lists). */
    static final Set<String> INDEX_TYPES = Set.of(
            "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json");

    /**
     * The {@code os}/{@code architecture}/{@code variant} of an index entry.
     *
     * @param os e.g. {@code linux}
     * @param architecture e.g. {@code amd64}
     * @param variant e.g. {@code v8}, or {@code ""}
     */
    record Platform(String os, String architecture, String variant) {

        @Override
        public String toString() {
            return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
        }
    }

    /**
     * Reads a descriptor object.
     *
     * @throws JsonException if a field is missing or has the wrong type, or the digest is malformed
     */
    static Descriptor read(JsonObject json) {
        String digest = json.string("digest");
        BlobPaths.checkDigest(digest, json.source() + ": " + json.child("digest"));
        JsonObject platform = json.optionalObject("platform");
        return new Descriptor(
                json.optionalString("mediaType") == null ? "" : json.optionalString("mediaType"),
                digest,
                json.has("size") ? json.integer("size") : -1,
                json.stringMap("annotations"),
                platform == null
                        ? null
                        : new Platform(
                                nullToEmpty(platform.optionalString("os")),
                                nullToEmpty(platform.optionalString("architecture")),
                                nullToEmpty(platform.optionalString("variant"))));
    }

    /** Whether the media type says this is an image index rather than a manifest. */
    boolean isIndex() {
        return INDEX_TYPES.contains(mediaType);
    }

    /** The blob's path in an OCI layout: {@code blobs/<algorithm>/<hex>}. */
    String blobPath() {
        return BlobPaths.forDigest(digest);
    }

    private static String nullToEmpty(String value) {
        return value == null ? "" : value;
    }
}
