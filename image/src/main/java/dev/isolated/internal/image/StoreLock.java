package dev.isolated.internal.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * The lock on the pulled part of the image cache ({@code <cache>/blobs}, {@code layouts}, {@code refs}),
 * {@code <cache>/store.lock}: held shared while a JVM pulls an image and unpacks it (its blobs and layout
 * belong to no image until then), taken exclusive by pruning, which skips that part while any JVM pulls.
 */
public final class StoreLock {

    private StoreLock() {}

    static CacheLock of(Path cacheRoot) throws IOException {
        return CacheLock.of(OwnDirectory.createPrivate(cacheRoot.toAbsolutePath())
                .toRealPath()
                .resolve("store.lock"));
    }

    /**
     * Runs {@code work} (a pull and the unpack of what it pulled) with the store lock of {@code cacheRoot} held
     * shared.
     *
     * @throws UncheckedIOException if the lock cannot be taken
     */
    public static <T> T whilePulling(Path cacheRoot, Supplier<T> work) {
        CacheLock lock;
        try {
            lock = of(cacheRoot);
            lock.acquireShared();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot lock the image cache " + cacheRoot + " for a pull: " + e, e);
        }
        try {
            return work.get();
        } finally {
            try {
                lock.releaseShared();
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot unlock the image cache " + cacheRoot + ": " + e, e);
            }
        }
    }
}
