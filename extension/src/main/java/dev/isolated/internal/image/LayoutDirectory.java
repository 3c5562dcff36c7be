package dev.isolated.internal.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * An image layout on disk (an OCI layout, or a {@code docker save} archive unpacked into a staging
 * directory), read file by file. Every name is taken from the image's JSON, so each is normalised and
 * must resolve, symlinks included (legacy {@code docker save} links duplicate layers), to a regular
 * file inside the layout.
 */
final class LayoutDirectory {

    /** The most bytes a manifest, index or config may have; they are read into memory. */
    static final int MAX_JSON_BYTES = 16 * 1024 * 1024;

    private static final Pattern HEX_NAME = Pattern.compile("[0-9a-f]{64}(\\.json)?");
    private static final List<String> MARKERS = List.of("oci-layout", "index.json", "manifest.json");
    private static final List<String> OTHER_NAMES = List.of("repositories", "blobs", "ingest");

    private final Path root;
    private final String image;

    /**
     * @param root the layout's directory
     * @param image the image's name for messages
     */
    LayoutDirectory(Path root, String image) {
        this.root = root;
        this.image = image;
    }

    /**
     * Whether a directory (or tar) whose top-level names are {@code names} is an image layout rather
     * than a rootfs: it holds {@code oci-layout}, {@code index.json} or {@code manifest.json}, and
     * nothing a layout would not ({@code blobs/}, {@code repositories}, {@code <64 hex>/},
     * {@code <64 hex>.json}).
     */
    static boolean isLayout(List<String> names) {
        return names.stream().anyMatch(MARKERS::contains) && names.stream().allMatch(LayoutDirectory::isLayoutName);
    }

    /** Whether {@code topLevelName} may appear at the top of an image layout. */
    static boolean isLayoutName(String topLevelName) {
        return MARKERS.contains(topLevelName) || OTHER_NAMES.contains(topLevelName)
                || HEX_NAME.matcher(topLevelName).matches();
    }

    /** Whether the directory {@code directory} is an image layout (see {@link #isLayout(List)}). */
    static boolean isLayout(Path directory) throws IOException {
        try (Stream<Path> children = Files.list(directory)) {
            return isLayout(children.map(child -> child.getFileName().toString()).toList());
        }
    }

    /** Whether the layout holds a regular file {@code name} at its top. */
    boolean has(String name) {
        return Files.isRegularFile(root.resolve(name), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Reads a small JSON file and, when {@code digest} is given, checks its content against it.
     *
     * @param what names the file in messages, e.g. {@code "manifest"}
     * @throws ImageUnpackException if it is missing, too large, outside the layout or does not match
     */
    String readJson(String name, String digest, String what) {
        Path path = resolve(name, what);
        try {
            long size = Files.size(path);
            if (size > MAX_JSON_BYTES) {
                throw new ImageUnpackException("Image " + image + ": its " + what + " '" + name + "' has " + size
                        + " bytes, more than the " + MAX_JSON_BYTES + " a JSON document may have");
            }
            byte[] bytes = Files.readAllBytes(path);
            if (digest != null) {
                MessageDigest actual = newDigest(digest, name, what);
                actual.update(bytes);
                checkDigest(digest, Sha256.hex(actual), name, what);
            }
            return new String(bytes, StandardCharsets.UTF_8);
        }
        catch (IOException e) {
            throw new ImageUnpackException("Image " + image + ": cannot read its " + what + " '" + name + "': " + e, e);
        }
    }

    /**
     * Opens a blob for streaming; the caller checks the digest with {@link #checkDigest} after reading
     * it to the end through the returned stream.
     */
    DigestInputStream openDigesting(String name, String digest, String what) throws IOException {
        InputStream in = Files.newInputStream(resolve(name, what));
        return new DigestInputStream(in, digest == null ? Sha256.newDigest() : newDigest(digest, name, what));
    }

    /**
     * Compares a blob's digest with the one the image promised.
     *
     * @throws ImageUnpackException naming the blob if they differ
     */
    void checkDigest(String expected, String actualHex, String name, String what) {
        String algorithm = expected.substring(0, expected.indexOf(':'));
        String actual = algorithm + ":" + actualHex;
        if (!actual.equals(expected)) {
            throw new ImageUnpackException("Image " + image + ": blob " + expected + " (" + what + ", file '" + name
                    + "') does not match its digest: its content hashes to " + actual
                    + ". The image is corrupt or was altered; export it again.");
        }
    }

    private MessageDigest newDigest(String digest, String name, String what) {
        try {
            return Sha256.newDigest(digest.substring(0, digest.indexOf(':')));
        }
        catch (IllegalArgumentException e) {
            throw new ImageUnpackException("Image " + image + ": " + what + " '" + name + "': " + e.getMessage(), e);
        }
    }

    /** The real path of {@code name}, which must be a regular file inside the layout. */
    private Path resolve(String name, String what) {
        String relative;
        try {
            relative = EntryNames.normalize(name, "path");
        }
        catch (EntryRejectedException e) {
            throw new ImageUnpackException("Image " + image + ": its " + what + " '" + name + "' is refused: "
                    + e.getMessage(), e);
        }
        try {
            Path real = root.resolve(relative).toRealPath();
            if (!real.startsWith(root.toRealPath())) {
                throw new ImageUnpackException("Image " + image + ": its " + what + " '" + name
                        + "' is a symlink that leads out of the image (to " + real + ")");
            }
            if (!Files.isRegularFile(real)) {
                throw new ImageUnpackException("Image " + image + ": its " + what + " '" + name + "' is not a file");
            }
            return real;
        }
        catch (NoSuchFileException e) {
            throw new ImageUnpackException("Image " + image + ": its " + what + " '" + name
                    + "' is missing from the archive; it is incomplete (a foreign or non-distributable layer, or a "
                    + "partial export?)", e);
        }
        catch (IOException e) {
            throw new ImageUnpackException("Image " + image + ": cannot open its " + what + " '" + name + "': " + e, e);
        }
    }
}
