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
import java.util.function.BooleanSupplier;

/**
 * The lock on one lock file of the image cache, shared by every thread of this JVM, held across JVMs with
 * {@code fcntl} locks through {@link FileChannel}. Readers (a JVM using an image or a layer) hold it shared,
 * writers (unpacking) and pruning exclusive.
 *
 * <p>Java's locks are per process and {@code fcntl}'s are dropped when <em>any</em> descriptor of the file
 * is closed, so there is at most one channel per lock file per JVM, closed only while this JVM holds no lock
 * on the file (so a JVM that locks many files does not keep a descriptor for each), and the threads of this
 * JVM count their shared holds here: the file lock is taken by the first and released by the last. The
 * pulled blobs' store ({@code dev.isolated.internal.registry}) takes these locks exclusive too.
 *
 * <p>Waiting is done by polling ({@code tryLock} every 10 to 200 ms), never by blocking in {@code fcntl}: the
 * kernel detects deadlocks per process, not per thread, so two JVMs whose threads wait for each other's
 * unrelated locks would get a spurious {@code EDEADLK}; and a waiting writer would not be starved by JVMs
 * that keep taking the lock shared, as it re-checks whether its work is still needed.
 */
public final class CacheLock {

    private static final ConcurrentMap<Path, CacheLock> LOCKS = new ConcurrentHashMap<>();
    private static final long FIRST_PAUSE_MILLIS = 10;
    private static final long MAX_PAUSE_MILLIS = 200;

    private final Path file;
    private FileChannel channel;
    private FileLock lock;
    private int shared;
    private boolean exclusive;

    private CacheLock(Path file) {
        this.file = file;
    }

    /** The lock of {@code lockFile}, which must be given by its real path; created when first locked. */
    public static CacheLock of(Path lockFile) {
        CacheLock lock =
                LOCKS.get(lockFile); // not computeIfAbsent(CacheLock::new): a class spun on the first test's path
        if (lock == null) {
            CacheLock made = new CacheLock(lockFile);
            lock = LOCKS.putIfAbsent(lockFile, made);
            if (lock == null) {
                lock = made;
            }
        }
        return lock;
    }

    /**
     * Takes the lock shared once more: waits while this JVM or another holds it exclusive.
     *
     * @throws IOException if the lock file cannot be opened or locked
     */
    void acquireShared() throws IOException {
        long pause = FIRST_PAUSE_MILLIS;
        while (true) {
            synchronized (this) {
                while (exclusive) {
                    waitHere(0);
                }
                if (shared > 0) {
                    shared++;
                    return;
                }
                FileLock taken = tryLock(true);
                if (taken != null) {
                    lock = taken;
                    shared = 1;
                    return;
                }
            }
            pause = pause(pause);
        }
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
            notifyAll();
            closeChannel();
            return;
        }
        notifyAll();
    }

    /** How many shared holds this JVM has. */
    synchronized int sharedHolds() {
        return shared;
    }

    /**
     * Takes the lock exclusive, waiting until the other threads of this JVM and other JVMs let go, unless
     * {@code unnecessary} turns true meanwhile (another JVM did the work). A thread must not call it while it
     * holds the lock shared.
     *
     * @return whether the lock was taken ({@link #releaseExclusive()} then releases it)
     */
    public boolean acquireExclusive(BooleanSupplier unnecessary) throws IOException {
        long pause = FIRST_PAUSE_MILLIS;
        while (true) {
            synchronized (this) {
                while (exclusive || shared > 0) {
                    if (unnecessary.getAsBoolean()) {
                        return false;
                    }
                    waitHere(MAX_PAUSE_MILLIS);
                }
                if (unnecessary.getAsBoolean()) {
                    closeChannel();
                    return false;
                }
                FileLock taken = tryLock(false);
                if (taken != null) {
                    lock = taken;
                    exclusive = true;
                    return true;
                }
            }
            pause = pause(pause);
        }
    }

    /** Releases the exclusive lock. */
    public synchronized void releaseExclusive() throws IOException {
        try {
            FileLock held = lock;
            lock = null;
            if (held != null) {
                held.release();
            }
        } finally {
            exclusive = false;
            notifyAll();
        }
        closeChannel();
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
        FileLock taken = tryLock(false);
        if (taken == null) {
            return false;
        }
        lock = taken;
        exclusive = true;
        return true;
    }

    /** One non-blocking attempt; {@code null} if another JVM (or another channel of this one) holds it. */
    private FileLock tryLock(boolean sharedLock) throws IOException {
        try {
            return channel().tryLock(0, Long.MAX_VALUE, sharedLock);
        } catch (OverlappingFileLockException heldThroughAnotherChannel) {
            return null;
        }
    }

    /** Sleeps {@code millis} outside the monitor; returns the next, longer pause. */
    private long pause(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while waiting for the image cache lock " + file);
        }
        return Math.min(millis * 2, MAX_PAUSE_MILLIS);
    }

    private FileChannel channel() throws IOException {
        if (channel == null) {
            channel = FileChannel.open(
                    file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        return channel;
    }

    /** Closes the channel; only while this JVM holds no lock on the file (closing drops every fcntl lock on it). */
    private void closeChannel() throws IOException {
        if (channel != null && !exclusive && shared == 0) {
            FileChannel open = channel;
            channel = null;
            open.close();
        }
    }

    private void waitHere(long millis) throws IOException {
        try {
            wait(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("Interrupted while waiting for the image cache lock " + file);
        }
    }
}
