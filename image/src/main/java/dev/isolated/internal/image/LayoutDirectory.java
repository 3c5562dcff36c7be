package dev.isolated.internal.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * An image layout on disk (an OCI layout, or a {@code docker save} archive unpacked into a staging
 * directory), read file by file. Every name is taken from the image's JSON, so each is normalised and
 * must resolve, symlinks included (legacy {@code docker save} links duplicate layers), to a regular
 * file inside the layout.
 */
final class LayoutDirectory {

    /** The most bytes a manifest, index or config may have; they are read into memory. */
    static final int MAX_JSON_BYTES = 16 * 1024 * 1024;

    /** The most symlinks followed to reach one file, as the kernel's limit for a path. */
    static final int MAX_SYMLINKS = 40;

    /** The names whose presence at the top makes a directory or archive an image layout. */
    static final List<String> MARKERS = List.of("manifest.json", "index.json", "oci-layout");

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
     * The {@link #MARKERS} at the top of {@code directory}, of any file type: a directory (or tar,
     * unpacked) holding one of them is an image layout, never a rootfs, so that a layout that cannot be
     * read fails naming the file instead of becoming a {@code /} that holds {@code manifest.json}.
     */
    static List<String> markers(Path directory) {
        return MARKERS.stream()
                .filter(name -> Files.exists(directory.resolve(name), LinkOption.NOFOLLOW_LINKS))
                .toList();
    }

    /** Whether {@code directory} is an image layout: it has one of the {@link #MARKERS} at its top. */
    static boolean isLayout(Path directory) {
        return !markers(directory).isEmpty();
    }

    /** The markers this layout holds, for messages. */
    List<String> markers() {
        return markers(root);
    }

    /** Whether the layout holds an entry {@code name} (a file, or anything else) at its top. */
    boolean holds(String name) {
        return Files.exists(root.resolve(name), LinkOption.NOFOLLOW_LINKS);
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
        } catch (IOException e) {
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

    /** The size of the blob {@code name}, 0 if it cannot be told (then reading it fails, naming it). */
    long size(String name, String what) {
        try {
            return Files.size(resolve(name, what));
        } catch (IOException | ImageUnpackException e) {
            return 0;
        }
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
        } catch (IllegalArgumentException e) {
            throw new ImageUnpackException("Image " + image + ": " + what + " '" + name + "': " + e.getMessage(), e);
        }
    }

    /**
     * The path of {@code name}, which must be a regular file inside the layout. Symlinks are followed
     * by hand, one component at a time, inside the layout only: a link may lead to another entry of the
     * layout ({@code docker save} and podman link {@code <id>/layer.tar} to a layer stored once), never
     * to an absolute path or above the layout's top, and at most {@value #MAX_SYMLINKS} links are
     * followed. Nothing outside the layout is looked at.
     */
    private Path resolve(String name, String what) {
        String relative;
        try {
            relative = EntryNames.normalize(name, "path");
        } catch (EntryRejectedException e) {
            throw new ImageUnpackException(
                    "Image " + image + ": its " + what + " '" + name + "' is refused: " + e.getMessage(), e);
        }
        Deque<String> pending = new ArrayDeque<>(List.of(relative.split("/")));
        List<String> resolved = new ArrayList<>();
        String lastLink = null;
        int links = 0;
        try {
            while (!pending.isEmpty()) {
                String component = pending.removeFirst();
                if (component.isEmpty() || component.equals(".")) {
                    continue;
                }
                if (component.equals("..")) {
                    if (resolved.isEmpty()) {
                        throw new ImageUnpackException("Image " + image + ": its " + what + " '" + name
                                + "' is a symlink" + " that leads out of the image (" + lastLink + ")");
                    }
                    resolved.remove(resolved.size() - 1);
                    continue;
                }
                resolved.add(component);
                Path current = root.resolve(String.join("/", resolved));
                if (!Files.isSymbolicLink(current)) {
                    continue;
                }
                String target = Files.readSymbolicLink(current).toString();
                lastLink = "'" + String.join("/", resolved) + "' -> '" + target + "'";
                if (++links > MAX_SYMLINKS) {
                    throw new ImageUnpackException("Image " + image + ": its " + what + " '" + name + "' is a symlink "
                            + "that loops: more than " + MAX_SYMLINKS + " symlinks followed, the last " + lastLink);
                }
                if (target.startsWith("/") || target.isEmpty()) {
                    throw new ImageUnpackException("Image " + image + ": its " + what + " '" + name + "' is a symlink"
                            + " that leads out of the image (" + lastLink
                            + "); a link in an image layout must be relative");
                }
                resolved.remove(resolved.size() - 1);
                List<String> targetComponents = List.of(target.split("/"));
                for (int i = targetComponents.size() - 1; i >= 0; i--) {
                    pending.addFirst(targetComponents.get(i));
                }
            }
            Path path = root.resolve(String.join("/", resolved));
            if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                throw new ImageUnpackException("Image " + image + ": its " + what + " '" + name + "' is missing from "
                        + "the archive" + (lastLink == null ? "" : " (it is a symlink, " + lastLink + ", to nothing)")
                        + "; it is incomplete (a foreign or non-distributable layer, or a partial export?)");
            }
            if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
                throw new ImageUnpackException("Image " + image + ": its " + what + " '" + name + "' is not a file");
            }
            return path;
        } catch (IOException e) {
            throw new ImageUnpackException("Image " + image + ": cannot open its " + what + " '" + name + "': " + e, e);
        } catch (InvalidPathException e) {
            throw new ImageUnpackException(
                    "Image " + image + ": cannot open its " + what + " '" + name + "': " + EntryNames.notAFileName(),
                    e);
        }
    }
}
