package dev.isolated.internal.image;

import dev.isolated.internal.json.JsonException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Digests and the blob paths they name: {@code sha256:ab12...} is {@code blobs/sha256/ab12...}. */
final class BlobPaths {

    private static final Pattern DIGEST = Pattern.compile("(sha256):([0-9a-f]{64})|(sha512):([0-9a-f]{128})");
    private static final Pattern BLOB_PATH = Pattern.compile("(?:\\./)?blobs/(sha256|sha512)/([0-9a-f]+)");
    private static final Pattern LEGACY_CONFIG = Pattern.compile("(?:\\./)?([0-9a-f]{64})\\.json");

    private BlobPaths() {}

    /**
     * Checks that {@code digest} is {@code sha256:<64 hex>} or {@code sha512:<128 hex>}.
     *
     * @param where names the field for the message
     * @throws JsonException if it is not
     */
    static void checkDigest(String digest, String where) {
        if (!DIGEST.matcher(digest).matches()) {
            throw new JsonException(where + " must be a digest such as sha256:<64 hex digits>, found '" + digest + "'");
        }
    }

    /** {@code blobs/<algorithm>/<hex>} for a checked digest. */
    static String forDigest(String digest) {
        int colon = digest.indexOf(':');
        return "blobs/" + digest.substring(0, colon) + "/" + digest.substring(colon + 1);
    }

    /**
     * The digest a path in a {@code docker save} archive promises by its name, or {@code null}:
     * {@code blobs/sha256/<hex>} (Docker 25 and later) and a legacy config {@code <hex>.json}.
     */
    static String digestNamedBy(String path) {
        Matcher blob = BLOB_PATH.matcher(path);
        if (blob.matches()) {
            return blob.group(1) + ":" + blob.group(2);
        }
        Matcher config = LEGACY_CONFIG.matcher(path);
        if (config.matches()) {
            return "sha256:" + config.group(1);
        }
        return null;
    }
}
