package dev.isolated.internal.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The layers of every layered image, each unpacked once, keyed by its diff_id (the SHA-256 of its
 * uncompressed tar, the same whether it came gzip-compressed from a registry or an OCI archive, or
 * plain from {@code docker save}): {@code <cache>/layers/<hex>/} holds {@code tree/} (the layer's own
 * files, unpacked with the {@link SafeTarUnpacker} rules), {@code whiteouts} (what it hides below it,
 * applied when images are merged, never created as files), {@code implicit-directories} (the parents no
 * entry named, which take no mode of their own) and the {@code complete} marker; all are in place before
 * the layer's directory is renamed to its key.
 *
 * <p>A layer is unpacked under an exclusive {@link CacheLock} on {@code <hex>.lock}, into a temporary
 * directory renamed into place, and checked against its diff_id; a layer whose config gives no diff_id is
 * stored under the digest it turns out to have. Images hold the lock shared while they are merged from
 * the layer, so pruning, which takes it exclusive, never removes a layer being merged.
 */
final class LayerStore {

    static final String TREE = "tree";
    static final String WHITEOUTS = "whiteouts";
    static final String MARKER = "complete";
    static final String IMPLICIT = "implicit-directories";

    /**
     * Whether {@code name} is 64 lowercase hex digits (a SHA-256), as images, layers, layouts and blobs are named. A
     * loop, not a regex: pruning checks every name in the cache, and the first prune runs beside a JVM's first test.
     */
    static boolean isKey(String name) {
        if (name.length() != 64) {
            return false;
        }
        for (int i = 0; i < 64; i++) {
            char c = name.charAt(i);
            if ((c < '0' || c > '9') && (c < 'a' || c > 'f')) {
                return false;
            }
        }
        return true;
    }

    private final Path directory;

    /**
     * @param cacheRoot the image cache's root
     */
    LayerStore(Path cacheRoot) {
        this.directory = cacheRoot.resolve("layers");
    }

    /** {@code <cache>/layers}. */
    Path directory() {
        return directory;
    }

    /** The lock of layer {@code hex}. */
    CacheLock lock(String hex) throws IOException {
        return CacheLock.of(prepare().toRealPath().resolve(hex + ".lock"));
    }

    /**
     * The stored layer {@code diffId}, or {@code null} if it is not (completely) there. The caller holds
     * its lock shared.
     */
    StoredLayer find(String diffId) throws IOException {
        String hex = diffId.substring("sha256:".length());
        Path layer = directory.resolve(hex);
        Path marker = layer.resolve(MARKER);
        List<String> lines;
        try {
            lines = Files.readAllLines(marker);
        } catch (NoSuchFileException e) {
            return null;
        }
        if (!Files.isDirectory(layer.resolve(TREE), LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        long entries = 0;
        long bytes = 0;
        List<String> notes = new ArrayList<>();
        for (String line : lines) {
            if (line.startsWith("entries=")) {
                entries = Long.parseLong(line.substring("entries=".length()));
            } else if (line.startsWith("bytes=")) {
                bytes = Long.parseLong(line.substring("bytes=".length()));
            } else if (line.startsWith("note=")) {
                notes.add(line.substring("note=".length()));
            }
        }
        return new StoredLayer(diffId, layer, entries, bytes, notes, true);
    }

    /**
     * Unpacks a layer into the store unless it is there, under its exclusive lock.
     *
     * @param diffId the layer's diff_id from the config, or {@code null} if it gives none
     * @param layerName names the layer in messages
     * @param extraction a fresh extraction into the given directory, with the image's limits counted so far
     * @param fill reads the layer's blob through the extraction ({@link TarExtraction#extractLayer})
     * @return the stored layer (its lock is not held on return)
     * @throws ImageUnpackException if the layer is unsafe, corrupt or does not match its diff_id
     */
    StoredLayer store(
            String diffId,
            String image,
            String layerName,
            java.util.function.Function<Path, TarExtraction> extraction,
            Consumer<TarExtraction> fill)
            throws IOException {
        prepare();
        if (diffId != null) {
            CacheLock lock = lock(diffId.substring("sha256:".length()));
            while (true) {
                if (lock.acquireExclusive(() -> isStored(diffId))) {
                    try {
                        StoredLayer stored = find(diffId);
                        return stored != null ? stored : unpack(diffId, image, layerName, extraction, fill);
                    } finally {
                        lock.releaseExclusive();
                    }
                }
                StoredLayer stored = find(diffId); // another JVM stored it meanwhile
                if (stored != null) {
                    return stored;
                }
            }
        }
        return unpack(null, image, layerName, extraction, fill);
    }

    private StoredLayer unpack(
            String diffId,
            String image,
            String layerName,
            java.util.function.Function<Path, TarExtraction> extractionFor,
            Consumer<TarExtraction> fill)
            throws IOException {
        Path temporary = Files.createTempDirectory(directory, "layer.tmp-");
        try {
            Path tree = Files.createDirectory(temporary.resolve(TREE));
            Files.setPosixFilePermissions(tree, PosixFilePermissions.fromString("rwxr-xr-x"));
            TarExtraction extraction = extractionFor.apply(tree);
            fill.accept(extraction);
            String actual = extraction.uncompressedDigest();
            if (diffId != null && !diffId.equals(actual)) {
                throw new ImageUnpackException(
                        "Image " + image + ": " + layerName + " unpacks to a tar whose sha256 is "
                                + actual + ", but the image's config gives " + diffId
                                + " in rootfs.diff_ids. The image is corrupt "
                                + "or was altered; export it again.");
            }
            UnpackResult result = extraction.finish();
            writeFile(temporary, WHITEOUTS, String.join("\0", extraction.whiteouts()));
            writeFile(
                    temporary, IMPLICIT, String.join("\0", new java.util.TreeSet<>(extraction.implicitDirectories())));
            StringBuilder marker = new StringBuilder()
                    .append("diff_id=")
                    .append(actual)
                    .append('\n')
                    .append("entries=")
                    .append(result.entries())
                    .append('\n')
                    .append("bytes=")
                    .append(result.bytes())
                    .append('\n')
                    .append("root=")
                    .append(extraction.rootDescribed())
                    .append('\n');
            result.notes()
                    .forEach(note -> marker.append("note=")
                            .append(UnpackResult.asLine(note))
                            .append('\n'));
            writeFile(temporary, MARKER, marker.toString());
            String hex = actual.substring("sha256:".length());
            if (diffId == null) { // keyed only now: another image may have stored it meanwhile
                CacheLock lock = lock(hex);
                while (true) {
                    if (lock.acquireExclusive(() -> isStored(actual))) {
                        try {
                            StoredLayer stored = find(actual);
                            return stored != null ? stored : moveIntoPlace(temporary, actual, result);
                        } finally {
                            lock.releaseExclusive();
                        }
                    }
                    StoredLayer stored = find(actual);
                    if (stored != null) {
                        return stored;
                    }
                }
            }
            return moveIntoPlace(temporary, actual, result);
        } finally {
            if (Files.exists(temporary, LinkOption.NOFOLLOW_LINKS)) {
                FileTrees.deleteRecursively(temporary);
            }
        }
    }

    /** Renames the unpacked layer to {@code <hex>}, replacing a stale one (no marker: a crash). */
    private StoredLayer moveIntoPlace(Path temporary, String diffId, UnpackResult result) throws IOException {
        Path layer = directory.resolve(diffId.substring("sha256:".length()));
        if (Files.exists(layer, LinkOption.NOFOLLOW_LINKS)) {
            FileTrees.deleteRecursively(layer);
        }
        Files.move(temporary, layer, StandardCopyOption.ATOMIC_MOVE);
        return new StoredLayer(diffId, layer, result.entries(), result.bytes(), result.notes(), false);
    }

    /** Whether the layer {@code diffId} is completely stored. */
    private boolean isStored(String diffId) {
        Path layer = directory.resolve(diffId.substring("sha256:".length()));
        return Files.isRegularFile(layer.resolve(MARKER), LinkOption.NOFOLLOW_LINKS)
                && Files.isDirectory(layer.resolve(TREE), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * The whiteout records of a stored layer: {@code whiteout <path>} and {@code opaque <dir>}.
     */
    static List<String> whiteouts(StoredLayer layer) throws IOException {
        String text = Files.readString(layer.directory().resolve(WHITEOUTS), StandardCharsets.UTF_8);
        return text.isEmpty() ? List.of() : List.of(text.split("\0"));
    }

    /** The layer's directories that no entry of its tar named ({@link RootfsWriter#implicitDirectories()}). */
    static java.util.Set<String> implicitDirectories(StoredLayer layer) throws IOException {
        String text = Files.readString(layer.directory().resolve(IMPLICIT), StandardCharsets.UTF_8);
        return text.isEmpty() ? java.util.Set.of() : java.util.Set.of(text.split("\0"));
    }

    /** Whether the layer's tar described its root directory ({@code ./}), whose mode then applies. */
    static boolean describesRoot(StoredLayer layer) throws IOException {
        return Files.readAllLines(layer.directory().resolve(MARKER)).contains("root=true");
    }

    private Path prepare() throws IOException {
        return OwnDirectory.createPrivate(directory);
    }

    private static void writeFile(Path directory, String name, String content) throws IOException {
        try (FileChannel channel =
                FileChannel.open(directory.resolve(name), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.write(StandardCharsets.UTF_8.encode(content));
            channel.force(true);
        }
    }
}
