package dev.isolated.internal.image;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An entry of an image could not be written where it is unpacked (a full disk, say): {@code Image <image>: entry
 * '<name>' cannot be written: <the IOException>}. The image cache, which knows where that is, words it with
 * {@link #inCache(Path)}.
 */
final class EntryWriteException extends ImageUnpackException {

    private final String image;
    private final String entry;

    /**
     * @param image names the image (and the layer) in messages
     * @param entry the entry's name in the tar
     */
    EntryWriteException(String image, String entry, IOException cause) {
        super("Image " + image + ": entry '" + entry + "' cannot be written: " + cause, cause);
        this.image = image;
        this.entry = entry;
    }

    /**
     * {@code Image <image>: entry '<name>' cannot be written into the image cache <cache>: <the IOException>. Make
     * room there or make the directory writable, or choose another one with -Disolated.cache.dir=DIR or
     * ISOLATED_CACHE_DIR=DIR}.
     */
    ImageUnpackException inCache(Path cache) {
        return new ImageUnpackException(
                "Image " + image + ": entry '" + entry + "' cannot be written into the image cache " + cache + ": "
                        + getCause() + ". " + CacheDirectory.WRITE_FIX,
                getCause());
    }
}
