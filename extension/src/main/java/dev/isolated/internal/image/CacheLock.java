package dev.isolated.internal.image;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The lock on one lock file of the image cache, shared by every thread of this JVM, held across JVMs with
 * {@code fcntl} locks through {@link FileChannel}. Readers (a JVM using an image or a layer) hold it shared,
 * writers (unpacking) and pruning exclusive.
 *
 * <p>Java's locks are per process and {@code fcntl}'s are dropped when <em>any</em> descriptor of the file
 * is closed, so there is exactly one channel per lock file per JVM, never closed, and the threads of this
 * JVM count their shared holds here: the file lock is taken by the first and released by the last.
 */
final class CacheLock {

    private static final ConcurrentMap<Path, CacheLock> LOCKS = new ConcurrentHashMap<>();

    private final Path file;
    private FileChannel channel;
    private FileLock lock;
    private int shared;
    private boolean exclusive;

    private CacheLock(Path file) {
        this.file = file;
    }

    /** The lock of {@code lockFile}, which must be given by its real path; created when first locked. */
    static CacheLock of(Path lockFile) {
        return LOCKS.computeIfAbsent(lockFile, CacheLock::new);
    }

    /**
     * Takes the lock shared once more: blocks while this JVM or another holds it exclusive.
     *
     * @throws IOException if the lock file cannot be opened or locked
     */
    synchronized void acquireShared() throws IOException {
        while (exclusive) {
            waitHere();
        }
        if (shared == 0) {
            lock = channel().lock(0, Long.MAX_VALUE, true);
        }
        shared++;
    }

    /** Gives back one shared hold; the last one releases the file lock. */
    synchronized void releaseShared() throws IOException {
        if (shared == 0) {
            return;
        }
        if (--shared == 0) {
            FileLock held = lock;
            lock = null;
            held.release();
        }
        notifyAll();
    }

    /** How many shared holds this JVM has. */
    synchronized int sharedHolds() {
        return shared;
    }

    /**
     * Takes the lock exclusive, blocking until the other threads of this JVM and other JVMs let go. A thread
     * must not call it while it holds the lock shared (it would wait for itself).
     */
    synchronized void acquireExclusive() throws IOException {
        while (exclusive || shared > 0) {
            waitHere();
        }
        exclusive = true;
        try {
            lock = channel().lock();
        }
        catch (IOException | RuntimeException | Error e) {
            exclusive = false;
            notifyAll();
            throw e;
        }
    }

    /** Releases the exclusive lock. */
    synchronized void releaseExclusive() throws IOException {
        try {
            FileLock held = lock;
            lock = null;
            if (held != null) {
                held.release();
            }
        }
        finally {
            exclusive = false;
            notifyAll();
        }
    }

    /**
     * Takes the lock exclusive if nobody holds it, in this JVM or another; {@link #releaseExclusive()}
     * releases it.
     *
     * @return whether it was taken
     */
    synchronized boolean tryExclusive() throws IOException {
        if (exclusive || shared > 0) {
            return false;
        }
        FileLock taken;
        try {
            taken = channel().tryLock();
        }
        catch (OverlappingFileLockException heldThroughAnotherChannel) {
            return false;
        }
        if (taken == null) {
            return false;
        }
        lock = taken;
        exclusive = true;
        return true;
    }

    private FileChannel channel() throws IOException {
        if (channel == null) {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        return channel;
    }

    private void waitHere() throws IOException {
        try {
            wait();
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while waiting for the image cache lock " + file);
        }
    }
}
