package dev.isolated.internal.image;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Content digests as OCI writes them: {@code sha256:<hex>} (and {@code sha512:<hex>}). */
final class Sha256 {

    private Sha256() {}

    /** A new SHA-256 digest. */
    static MessageDigest newDigest() {
        return newDigest("sha256");
    }

    /**
     * A new digest for an OCI algorithm name.
     *
     * @throws IllegalArgumentException if the algorithm is neither {@code sha256} nor {@code sha512}
     */
    static MessageDigest newDigest(String algorithm) {
        String javaName = switch (algorithm) {
            case "sha256" -> "SHA-256";
            case "sha512" -> "SHA-512";
            default ->
                throw new IllegalArgumentException(
                        "digest algorithm '" + algorithm + "' is not supported (only sha256 and sha512 are)");
        };
        try {
            return MessageDigest.getInstance(javaName);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(
                    "This JVM lacks " + javaName + ", which every Java platform must provide", e);
        }
    }

    /** The lowercase hex SHA-256 of {@code bytes}. */
    static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(newDigest().digest(bytes));
    }

    /** The lowercase hex of a finished digest. */
    static String hex(MessageDigest digest) {
        return HexFormat.of().formatHex(digest.digest());
    }
}
