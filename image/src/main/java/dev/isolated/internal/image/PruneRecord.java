package dev.isolated.internal.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code <cache>/last-prune}: how many bytes the last prune left in the cache, written only when that prune
 * finished with the cache under its cap and nothing left half-done, and deleted by every operation that stores
 * into the cache (an unpack, a pulled blob, tag or layout) before it writes and again after. So while the file
 * holds a size, nothing was stored since that prune, and an automatic prune whose cap is at least that size has
 * nothing to remove ({@link #fitsUnder}).
 *
 * <p>Several JVMs share the cache. A prune creates a new file (a new inode) before it reads the cache and writes
 * the size through that open file at its end, so a store that deletes the file while the prune runs, or after,
 * leaves no record (the prune's write lands in a deleted inode); a store that ended before the prune started
 * was seen by it. A JVM that dies while storing has deleted the record first, so the next JVM prunes and cleans
 * up what it left half-written; a prune that cannot clean all of that yet (held by a JVM, a layer temporary less
 * than a day old, a pull running) writes nothing either, so the JVMs after it prune again.
 *
 * <p>The record also holds the modification times of {@code images/}, {@code layers/}, {@code layouts/} and
 * {@code blobs/sha256/} as the prune left them, and is taken only while they are unchanged: an image, layer or
 * blob added or deleted by anything that does not delete the record (an older version of Isolated sharing the
 * cache, a hand) makes the next JVM prune.
 */
public final class PruneRecord {

    static final String FILE = "last-prune";
    private static final String PREFIX = "left=";
    private static final String STAMP = "\nstamp=";
    private static final List<String> WATCHED = List.of("images", "layers", "layouts", "blobs/sha256");

    private final FileChannel channel;

    private PruneRecord(FileChannel channel) {
        this.channel = channel;
    }

    /**
     * Whether the last prune of the cache at {@code cacheRoot} left at most {@code maxBytes} bytes and nothing was
     * stored since; {@code false} when there is no record or it cannot be read.
     */
    static boolean fitsUnder(Path cacheRoot, long maxBytes) {
        String text;
        try {
            text = Files.readString(cacheRoot.resolve(FILE));
        } catch (IOException | RuntimeException e) {
            return false; // none, or unreadable: prune
        }
        int stamp = text.indexOf(STAMP);
        if (!text.startsWith(PREFIX) || !text.endsWith("\n") || stamp < 0) {
            return false; // a prune is running or died: prune
        }
        try {
            return Long.parseLong(text.substring(PREFIX.length(), stamp)) <= maxBytes
                    && text.substring(stamp + STAMP.length(), text.length() - 1).equals(stamp(cacheRoot));
        } catch (NumberFormatException | IOException e) {
            return false;
        }
    }

    /** The modification times of the directories that hold what the cap counts, in nanoseconds ({@code -}: none). */
    private static String stamp(Path cacheRoot) throws IOException {
        StringBuilder stamp = new StringBuilder();
        for (String directory : WATCHED) {
            if (!stamp.isEmpty()) {
                stamp.append(',');
            }
            try {
                stamp.append(Files.getLastModifiedTime(cacheRoot.resolve(directory), LinkOption.NOFOLLOW_LINKS)
                        .to(TimeUnit.NANOSECONDS));
            } catch (NoSuchFileException e) {
                stamp.append('-');
            }
        }
        return stamp.toString();
    }

    /**
     * Deletes the record of the cache at {@code cacheRoot}: called by every operation that stores into the cache,
     * before it writes anything and again when it is done.
     *
     * @throws UncheckedIOException if the record exists and cannot be deleted
     */
    public static void storing(Path cacheRoot) {
        Path file = cacheRoot.resolve(FILE);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Cannot delete " + file + ", which says what the last prune of the "
                            + "image cache left; make it deletable: " + e,
                    e);
        }
    }

    /**
     * Starts recording a prune of the cache at {@code cacheRoot}: replaces the record with a new, empty file, kept
     * open. Returns a record that writes nothing when the file cannot be made (another prune made it first, or the
     * cache cannot be written: the prune goes on without a record, so the next JVM prunes too).
     *
     * @throws IOException if an old record exists and cannot be deleted
     */
    static PruneRecord start(Path cacheRoot) throws IOException {
        Path file = cacheRoot.resolve(FILE);
        Files.deleteIfExists(file);
        try {
            return new PruneRecord(FileChannel.open(
                    file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS));
        } catch (IOException e) {
            return new PruneRecord(null); // another JVM's prune made it first, the cache is gone or read-only
        }
    }

    /** Records that the prune left {@code bytes}, with nothing half-done; through the file {@link #start} made. */
    void finish(long bytes, Path cacheRoot) throws IOException {
        if (channel == null) {
            return;
        }
        try (channel) {
            ByteBuffer text = StandardCharsets.US_ASCII.encode(PREFIX + bytes + STAMP + stamp(cacheRoot) + "\n");
            while (text.hasRemaining()) {
                channel.write(text);
            }
        }
    }

    /** Ends a prune that left something to do: the empty file stays, which {@link #fitsUnder} never takes. */
    void abandon() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }
}
