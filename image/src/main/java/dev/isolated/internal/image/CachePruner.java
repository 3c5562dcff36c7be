package dev.isolated.internal.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Removes least recently used {@link ImageCache} entries beyond a size and an age, then what no remaining
 * image uses: stored layers, and pulled layouts, blobs and refs; and what a JVM that died left half-written:
 * incomplete entries nobody holds, layer directories being unpacked for more than a day, and pulled layouts
 * being laid out.
 *
 * <p>The size counted is what the remaining images would hold once that sweep is done: the file bytes of each
 * plain rootfs image, of each layer some layered image uses (once, however many do) and of each pulled blob
 * some remaining image's layout holds (once). Entries, layers and the pulled store in use are kept: an entry
 * or layer whose lock a JVM holds (this one too), and the pulled store while any JVM is pulling
 * ({@link StoreLock}).
 */
final class CachePruner {

    /**
     * An entry that may be removed.
     *
     * @param entry the entry's directory
     * @param lastUsed when it was last handed out
     * @param bytes the file content it holds itself (0 for a layered image, whose files are the layers')
     * @param layers the hex keys of the stored layers it was merged from
     * @param layout the hex name of the pulled layout it came from, or {@code null}
     */
    record Candidate(Path entry, Instant lastUsed, long bytes, Set<String> layers, String layout) {}

    private final ImageCache cache;
    private final Path root;
    private final Map<String, Long> layerBytes = new HashMap<>();
    private final Map<String, Set<String>> layoutBlobs = new HashMap<>();
    private final Map<String, Long> blobBytes = new HashMap<>();

    CachePruner(ImageCache cache) {
        this.cache = cache;
        this.root = cache.root();
    }

    List<Path> prune(long maxBytes, Duration maxAge) {
        try {
            PruneRecord record = PruneRecord.start(root); // before anything is read: see PruneRecord
            try {
                return prune(maxBytes, maxAge, record);
            } finally {
                record.abandon(); // unless finished
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot prune the image cache " + root + ": " + e, e);
        }
    }

    private List<Path> prune(long maxBytes, Duration maxAge, PruneRecord record) throws IOException {
        List<Candidate> remaining = new ArrayList<>(cache.completeEntries());
        readSizes();
        Instant oldestKept = Instant.now().minus(maxAge);
        List<Path> removed = new ArrayList<>();
        long size = size(remaining); // changes only when an entry goes: not summed again for every entry
        for (Candidate candidate : List.copyOf(remaining)) {
            boolean tooOld = candidate.lastUsed().isBefore(oldestKept);
            if ((tooOld || size > maxBytes)
                    && !ImageCache.isHandedOut(candidate.entry())
                    && cache.removeIfUnlocked(candidate.entry())) {
                removed.add(candidate.entry());
                remaining.remove(candidate);
                size = size(remaining);
            }
        }
        boolean swept = sweep(removed.isEmpty() ? remaining : null);
        if (swept && size <= maxBytes) {
            record.finish(size, root);
        }
        return removed;
    }

    /** What the {@code remaining} images hold once nothing else is kept. */
    private long size(List<Candidate> remaining) {
        long total = 0;
        Set<String> layers = new HashSet<>();
        Set<String> blobs = new HashSet<>();
        for (Candidate candidate : remaining) {
            total += candidate.bytes();
            layers.addAll(candidate.layers());
            if (candidate.layout() != null) {
                blobs.addAll(layoutBlobs.getOrDefault(candidate.layout(), Set.of()));
            }
        }
        for (String layer : layers) {
            total += layerBytes.getOrDefault(layer, 0L);
        }
        for (String blob : blobs) {
            total += blobBytes.getOrDefault(blob, 0L);
        }
        return total;
    }

    private void readSizes() throws IOException {
        for (Path layer : list(cache.layerStore().directory())) {
            String hex = layer.getFileName().toString();
            if (LayerStore.isKey(hex)) {
                StoredLayer stored = cache.layerStore().find("sha256:" + hex);
                if (stored != null) {
                    layerBytes.put(hex, stored.bytes());
                }
            }
        }
        for (Path layout : list(root.resolve("layouts"))) {
            String hex = layout.getFileName().toString();
            if (LayerStore.isKey(hex)) {
                Set<String> blobs = new HashSet<>();
                for (Path blob : list(layout.resolve("blobs").resolve("sha256"))) {
                    blobs.add(blob.getFileName().toString());
                }
                layoutBlobs.put(hex, blobs);
            }
        }
        for (Path blob : list(root.resolve("blobs").resolve("sha256"))) {
            String hex = blob.getFileName().toString();
            if (LayerStore.isKey(hex) && Files.isRegularFile(blob, LinkOption.NOFOLLOW_LINKS)) {
                blobBytes.put(hex, Files.size(blob));
            }
        }
    }

    /**
     * Removes the layers no complete image uses and nobody holds, then, unless a JVM is pulling, the layouts no
     * complete image came from, the blobs no remaining layout holds and the refs whose manifest is gone.
     *
     * @param unchanged the complete entries just read, when none was removed since; {@code null}: read them again
     * @return whether nothing was left that a later sweep may remove: no stale entry, layer or layer temporary was
     *     kept, and the pulled part was swept
     */
    private boolean sweep(List<Candidate> unchanged) throws IOException {
        boolean all = cache.removeStaleEntries();
        Instant dayAgo = Instant.now().minus(Duration.ofDays(1));
        for (Path temporary : list(cache.layerStore().directory())) { // left by a JVM that died unpacking a layer
            if (temporary.getFileName().toString().startsWith("layer.tmp-")
                    && Files.getLastModifiedTime(temporary, LinkOption.NOFOLLOW_LINKS)
                            .toInstant()
                            .isBefore(dayAgo)) {
                FileTrees.deleteRecursively(temporary);
            } else if (temporary.getFileName().toString().startsWith("layer.tmp-")) {
                all = false; // being unpacked, or left by a JVM that died less than a day ago
            }
        }
        // When nothing was removed, the entries prune() just read: reading every entry's marker again doubled the
        // work of the automatic prune, which runs beside a JVM's first test. An image another JVM completes meanwhile
        // holds its layers' locks while it merges them, and its files are links, so a layer swept after is re-stored.
        List<Candidate> kept = unchanged != null ? unchanged : cache.completeEntries();
        Set<String> usedLayers = new HashSet<>();
        Set<String> usedLayouts = new HashSet<>();
        for (Candidate candidate : kept) {
            usedLayers.addAll(candidate.layers());
            if (candidate.layout() != null) {
                usedLayouts.add(candidate.layout());
            }
        }
        LayerStore store = cache.layerStore();
        for (Path layer : list(store.directory())) {
            String hex = layer.getFileName().toString();
            if (!LayerStore.isKey(hex) || usedLayers.contains(hex)) {
                continue;
            }
            CacheLock lock = store.lock(hex);
            if (lock.tryExclusive()) {
                try {
                    Files.deleteIfExists(layer.resolve(LayerStore.MARKER));
                    FileTrees.deleteRecursively(layer);
                } finally {
                    lock.releaseExclusive();
                }
            } else {
                all = false; // held: an image is being merged from it
            }
        }
        Path layouts = root.resolve("layouts");
        if (!Files.isDirectory(layouts, LinkOption.NOFOLLOW_LINKS)) {
            return all;
        }
        CacheLock pulls = StoreLock.of(root);
        if (!pulls.tryExclusive()) {
            return false; // a JVM is pulling: its blobs and layout are not in an image yet
        }
        try {
            Set<String> keptBlobs = new HashSet<>();
            for (Path layout : list(layouts)) {
                String hex = layout.getFileName().toString();
                if (hex.contains(".tmp-")) { // left by a JVM that died laying out a pull; nobody pulls now
                    FileTrees.deleteRecursively(layout);
                } else if (LayerStore.isKey(hex) && !usedLayouts.contains(hex)) {
                    Files.deleteIfExists(layout.resolve("index.json")); // no longer taken for a complete layout
                    FileTrees.deleteRecursively(layout);
                } else {
                    for (Path blob : list(layout.resolve("blobs").resolve("sha256"))) {
                        keptBlobs.add(blob.getFileName().toString());
                    }
                }
            }
            for (Path blob : list(root.resolve("blobs").resolve("sha256"))) {
                String hex = blob.getFileName().toString();
                if (LayerStore.isKey(hex) && !keptBlobs.contains(hex)) {
                    Files.deleteIfExists(blob);
                }
            }
            Path refs = root.resolve("refs");
            if (Files.isDirectory(refs, LinkOption.NOFOLLOW_LINKS)) {
                try (Stream<Path> files = Files.walk(refs)) {
                    for (Path ref : files.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                            .toList()) {
                        String digest = firstLine(ref);
                        if (ref.getFileName().toString().startsWith(".") // a tag's temporary a JVM that died left
                                || digest == null
                                || !digest.startsWith("sha256:")
                                || !keptBlobs.contains(digest.substring("sha256:".length()))) {
                            Files.deleteIfExists(ref);
                        }
                    }
                }
            }
        } finally {
            pulls.releaseExclusive();
        }
        return all;
    }

    private static String firstLine(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        return lines.isEmpty() ? null : lines.get(0).strip();
    }

    private static List<Path> list(Path directory) throws IOException {
        try (Stream<Path> children = Files.list(directory)) {
            return children.toList();
        } catch (NoSuchFileException e) {
            return List.of();
        }
    }
}
