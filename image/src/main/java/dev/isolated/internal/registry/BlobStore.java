package dev.isolated.internal.registry;

import dev.isolated.internal.image.CacheLock;
import dev.isolated.internal.image.PruneRecord;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pulled blobs by digest, {@code <cache>/blobs/sha256/<hex>}: manifests, indexes, configs and compressed
 * layers exactly as received, each stored only after its size and sha256 matched. A download goes to
 * {@code <hex>.partial} in the same directory, is hashed while it streams, forced to disk and renamed into
 * place. One download per blob at a time across threads and JVMs: the {@link CacheLock} of
 * {@code <cache>/blobs/locks/<hex>.lock} (never deleted) is taken exclusive, one lock object and descriptor per
 * file in each copy of this library in a JVM, waiting by polling a non-blocking attempt rather than blocking in
 * {@code fcntl} (whose deadlock
 * detection is per process, so two JVMs each downloading several blobs could get a spurious {@code EDEADLK});
 * whoever comes second finds the blob stored and stops waiting. A {@code .partial} left by a JVM that died is re-hashed and resumed with an
 * HTTP {@code Range} request, or restarted when the registry sends the whole blob. A blob that has more bytes
 * than its descriptor gives is refused by its {@code Content-Length}, or else after at most one byte too many,
 * and nothing of it is kept.
 */
final class BlobStore {

    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
    private static final int BUFFER = 128 * 1024;

    private final Path cacheRoot;
    private final Path blobs;
    private final Path locks;

    BlobStore(Path cacheRoot) {
        this.cacheRoot = cacheRoot;
        this.blobs = cacheRoot.resolve("blobs").resolve("sha256");
        this.locks = cacheRoot.resolve("blobs").resolve("locks");
    }

    /** The stored blob's path (it may not exist). */
    Path path(String digest) {
        return blobs.resolve(hex(digest));
    }

    boolean has(String digest) {
        return Files.isRegularFile(path(digest), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Stores bytes already verified to have {@code digest} (a manifest fetched whole).
     *
     * @param label names the blob in messages: {@code Image <name>: manifest <digest>}
     * @throws ImagePullException if the store cannot be written
     */
    void put(String digest, byte[] bytes, String label) {
        if (!digest.equals("sha256:" + Digests.sha256Hex(bytes))) {
            throw new IllegalArgumentException("bytes do not match " + digest);
        }
        withLock(
                digest,
                label,
                () -> {
                    if (!has(digest)) {
                        Path partial = blobs.resolve(hex(digest) + ".partial");
                        try (FileChannel out = FileChannel.open(
                                partial,
                                StandardOpenOption.CREATE,
                                StandardOpenOption.WRITE,
                                StandardOpenOption.TRUNCATE_EXISTING)) {
                            ByteBuffer buffer = ByteBuffer.wrap(bytes);
                            while (buffer.hasRemaining()) {
                                out.write(buffer);
                            }
                            out.force(true);
                        }
                        Files.move(partial, path(digest), StandardCopyOption.ATOMIC_MOVE);
                    }
                    return null;
                },
                () -> null);
    }

    /** Opens a blob's download at an offset. */
    @FunctionalInterface
    interface Download {
        HttpResponse<InputStream> from(long offset);
    }

    /** Called with the bytes that arrive. */
    @FunctionalInterface
    interface Progress {
        void add(long bytes);
    }

    /**
     * Downloads the blob unless it is stored, and returns its path.
     *
     * @param size the size its descriptor gives
     * @param label names the blob in messages: {@code Image <name>: blob <digest> (layer 1 of 3) from <registry>}
     * @throws ImagePullException if it does not match its size or digest (nothing is stored), the download
     *     broke off (what arrived is kept to be resumed), or the store cannot be written
     */
    Path fetch(String digest, long size, String label, Download download, Progress progress) {
        Path stored = fetchOnce(digest, size, label, download, progress);
        return stored != null ? stored : fetchOnce(digest, size, label, download, progress);
    }

    private Path fetchOnce(String digest, long size, String label, Download download, Progress progress) {
        return withLock(
                digest,
                label,
                () -> {
                    Path target = path(digest);
                    if (has(digest)) {
                        return target;
                    }
                    Path partial = blobs.resolve(hex(digest) + ".partial");
                    MessageDigest sha = Digests.sha256();
                    long have = 0;
                    if (Files.isRegularFile(partial, LinkOption.NOFOLLOW_LINKS)) {
                        have = rehash(partial, sha, size);
                    }
                    HttpResponse<InputStream> response = download.from(have);
                    if (response.statusCode() == 416 || (have > 0 && response.statusCode() == 200)) {
                        if (response.statusCode() == 416) {
                            RegistryClient.drain(response);
                            response = download.from(0);
                        }
                        have = 0;
                        sha = Digests.sha256(); // the registry cannot resume: start again
                    } else if (have > 0) {
                        Matcher range = CONTENT_RANGE.matcher(
                                response.headers().firstValue("Content-Range").orElse(""));
                        if (!range.matches() || Long.parseLong(range.group(1)) != have) {
                            RegistryClient.drain(response);
                            response = download.from(0);
                            have = 0;
                            sha = Digests.sha256();
                        }
                    }
                    long length = response.headers()
                            .firstValue("Content-Length")
                            .map(BlobStore::number)
                            .orElse(-1L);
                    if (length > size - have) {
                        response.body().close(); // the connection is dropped, not read to its end
                        Files.deleteIfExists(partial);
                        throw new ImagePullException(label + " has more bytes than the " + size
                                + " its descriptor gives; it was not stored");
                    }
                    boolean resumed = have > 0;
                    progress.add(have);
                    try (InputStream in = response.body();
                            FileChannel out =
                                    FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                        out.truncate(have);
                        out.position(have);
                        byte[] buffer = new byte[BUFFER];
                        long total = have;
                        int n;
                        while ((n = read(
                                        in,
                                        buffer,
                                        (int) Math.min(buffer.length, size - total + 1),
                                        label,
                                        partial,
                                        total,
                                        size))
                                > 0) {
                            total += n;
                            if (total > size) {
                                out.truncate(0);
                                Files.deleteIfExists(partial);
                                throw new ImagePullException(label + " has more bytes than the " + size
                                        + " its descriptor gives; it was not stored");
                            }
                            sha.update(buffer, 0, n);
                            ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                            while (chunk.hasRemaining()) {
                                out.write(chunk);
                            }
                            progress.add(n);
                        }
                        if (total < size) {
                            out.force(true);
                            throw brokenOff(label, partial, total, size, "the body ended early");
                        }
                        String actual = "sha256:" + Digests.hex(sha);
                        if (!actual.equals(digest) && resumed) {
                            out.truncate(0);
                            Files.deleteIfExists(partial);
                            return null; // the kept bytes were not the blob's: download it once more, whole
                        }
                        if (!actual.equals(digest)) {
                            out.truncate(0);
                            Files.deleteIfExists(partial);
                            throw new ImagePullException(label + " does not match its digest: its content hashes to "
                                    + actual + "; it was not stored");
                        }
                        out.force(true);
                    }
                    Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
                    return target;
                },
                () -> path(digest));
    }

    /** Reads at most {@code length} bytes: at most one more than the descriptor's size arrives before it is refused. */
    private static int read(
            InputStream in, byte[] buffer, int length, String label, Path partial, long total, long size) {
        try {
            return in.read(buffer, 0, length);
        } catch (StallTimeoutInputStream.Stalled e) {
            throw brokenOff(label, partial, total, size, e.getMessage());
        } catch (IOException e) {
            throw brokenOff(label, partial, total, size, e.toString());
        }
    }

    private static ImagePullException brokenOff(String label, Path partial, long total, long size, String why) {
        return new ImagePullException(label + ": the download broke off after " + total + " of " + size + " bytes ("
                + why + "); they are kept in " + partial + " and the next pull resumes from there");
    }

    private static long number(String text) {
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            return -1; // the body's length decides
        }
    }

    /** Hashes the first bytes of a partial download (at most {@code size}); returns how many there are. */
    private static long rehash(Path partial, MessageDigest sha, long size) throws IOException {
        long have = 0;
        try (InputStream in = Files.newInputStream(partial)) {
            byte[] buffer = new byte[BUFFER];
            int n;
            while (have < size && (n = in.read(buffer, 0, (int) Math.min(buffer.length, size - have))) > 0) {
                sha.update(buffer, 0, n);
                have += n;
            }
        }
        return have;
    }

    @FunctionalInterface
    private interface Locked<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code action} holding the blob's lock exclusive, or returns {@code whenStored} once another thread or
     * JVM has stored the blob while this one waited.
     */
    private <T> T withLock(String digest, String label, Locked<T> action, Supplier<T> whenStored) {
        String hex = hex(digest);
        try {
            Files.createDirectories(blobs);
            Files.createDirectories(locks);
            CacheLock lock = CacheLock.of(locks.toRealPath().resolve(hex + ".lock"));
            if (!lock.acquireExclusive(() -> has(digest))) {
                return whenStored.get();
            }
            try {
                PruneRecord.storing(cacheRoot); // a stored blob counts toward the cache's cap
                return action.run();
            } finally {
                try {
                    PruneRecord.storing(cacheRoot);
                } finally {
                    lock.releaseExclusive();
                }
            }
        } catch (IOException e) {
            throw ImagePuller.storeFailure(label + ": cannot store it in " + blobs, e);
        }
    }

    private static String hex(String digest) {
        if (!digest.matches("sha256:[0-9a-f]{64}")) {
            throw new ImagePullException("Only sha256 digests are supported, found '" + digest + "'");
        }
        return digest.substring("sha256:".length());
    }
}
