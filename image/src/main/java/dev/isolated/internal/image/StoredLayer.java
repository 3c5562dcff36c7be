package dev.isolated.internal.image;

import java.nio.file.Path;
import java.util.List;

/**
 * One layer unpacked in the {@link LayerStore}.
 *
 * @param diffId the digest of its uncompressed tar, {@code sha256:<hex>}, its key in the store
 * @param directory {@code <cache>/layers/<hex>}
 * @param entries how many tar entries it had
 * @param bytes how many bytes of file content it holds
 * @param notes what was skipped while unpacking it
 * @param reused whether it was in the store already
 */
record StoredLayer(String diffId, Path directory, long entries, long bytes, List<String> notes, boolean reused) {

    /** Copies the notes. */
    StoredLayer {
        notes = List.copyOf(notes);
    }

    /** The unpacked files, the layer's own, with its whiteouts recorded apart ({@link LayerStore#WHITEOUTS}). */
    Path tree() {
        return directory.resolve(LayerStore.TREE);
    }

    /** The hex part of {@link #diffId()}. */
    String hex() {
        return diffId.substring("sha256:".length());
    }
}
