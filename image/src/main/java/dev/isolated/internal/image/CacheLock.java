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
 * {@code fcntl} locks. Readers (a JVM using an image or a layer) hold it shared, writers (unpacking) and pruning
 * exclusive.
 *
 * <p>The first copy of this library in a JVM to lock takes classic {@code fcntl} locks through {@link FileChannel}.
 * Those are per process and dropped when <em>any</em> descriptor of the file is closed, so there is at most one
 * channel per lock file per copy, closed only while it holds no lock on the file (so a JVM that locks many files does
 * not keep a descriptor for each), and the threads count their shared holds here: the file lock is taken by the
 * first and released by the last. The pulled blobs' store ({@code dev.isolated.internal.registry}) takes these locks
 * exclusive too.
 *
 * <p>Further copies of this library in the same JVM (loaded again by another class loader: an IDE, a build plugin,
 * a harness) take open file description locks instead ({@link OpenFileDescriptionLock}), which exclude each other
 * and the first copy's classic locks as locks of different JVMs do, so the copies share a cache directory as JVMs
 * do. Such a copy closes a lock file's descriptor only while the first copy holds no lock on the file (closing it
 * would drop the first copy's), under a monitor every copy shares (an interned string), and otherwise keeps it open
 * for its next use of the file. Which copy is the first is settled through an interned string when a copy first
 * locks.
 *
 * <p>Waiting is done by polling (a non-blocking attempt every 10 to 200 ms), never by blocking in {@code fcntl}: the
 * kernel detects deadlocks per process, not per thread, so two JVMs whose threads wait for each other's
 * unrelated locks would get a spurious {@code EDEADLK}; and a waiting writer would not be starved by JVMs
 * that keep taking the lock shared, as it re-checks whether its work is still needed.
 */
public final class CacheLock {

    private static final ConcurrentMap<Path, CacheLock> LOCKS = new ConcurrentHashMap<>();
    private static final long FIRST_PAUSE_MILLIS = 10;
    private static final long MAX_PAUSE_MILLIS = 200;

    /**
     * The monitor of every copy of this class in the JVM, whatever its class loader: a string literal is interned, one
     * instance per JVM. A further copy closes a lock file's descriptor under it, the first copy takes its locks
     * under it, so that no close drops a lock the first copy just took.
     */
    private static final String JVM_WIDE = "dev.isolated.internal.image.CacheLock: every copy in this JVM";

    /**
     * The interned instance of the first copy's claim. Every copy that has locked keeps it reachable, so while one of
     * them is loaded no later copy takes the first's place.
     */
    private static String claim;
    /** Whether this copy of the library is the JVM's first to lock; settled on its first lock. */
    private static Boolean firstCopy;

    private final Path file;
    private FileChannel channel;
    private FileLock lock;
    private OpenFileDescriptionLock description;
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
                if (tryLock(true)) {
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
            try {
                unlock();
            } finally {
                notifyAll();
            }
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
                if (tryLock(false)) {
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
            unlock();
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
        if (!tryLock(false)) {
            closeChannel(); // not kept open for a try that may not come again (pruning tries every entry)
            return false;
        }
        exclusive = true;
        return true;
    }

    /**
     * One non-blocking attempt; {@code false} if another JVM, another copy of this library in this one, or another
     * channel of this JVM holds it.
     */
    private boolean tryLock(boolean sharedLock) throws IOException {
        if (!isFirstCopy()) {
            if (description == null) {
                description = OpenFileDescriptionLock.open(file);
            }
            return description.tryLock(sharedLock);
        }
        FileChannel open = channel();
        try {
            synchronized (JVM_WIDE) { // not while a further copy decides to close a descriptor of this file
                lock = open.tryLock(0, Long.MAX_VALUE, sharedLock);
            }
        } catch (OverlappingFileLockException heldThroughAnotherChannel) {
            return false;
        }
        return lock != null;
    }

    /** Releases the file lock this copy holds. */
    private void unlock() throws IOException {
        if (description != null) {
            description.unlock();
            return;
        }
        FileLock held = lock;
        lock = null;
        if (held != null) {
            held.release();
        }
    }

    /**
     * Whether this copy of the library is the first in the JVM to lock, settled on its first lock: the first
     * interns its claim (a string made at run time, not a literal, which would be interned on first use), a later
     * copy finds that claim's instance interned already.
     */
    private static synchronized boolean isFirstCopy() {
        if (firstCopy == null) {
            String mine = CacheLock.class.getName() + ": the first copy in this JVM to lock";
            claim = mine.intern();
            firstCopy = claim == mine;
        }
        return firstCopy;
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

    /**
     * Closes the channel or descriptor; only while this copy holds no lock on the file (closing drops every classic
     * lock of the process on it), and in a further copy only while the first holds none either.
     */
    private void closeChannel() throws IOException {
        if (exclusive || shared > 0) {
            return;
        }
        if (channel != null) {
            FileChannel open = channel;
            channel = null;
            open.close();
        }
        if (description != null) {
            synchronized (JVM_WIDE) {
                if (!firstCopyHoldsIt()) {
                    OpenFileDescriptionLock open = description;
                    description = null;
                    open.close();
                }
            }
        }
    }

    /** Whether the first copy may hold a lock on the file; when that cannot be told, it may. */
    private boolean firstCopyHoldsIt() {
        try {
            return ClassicLocks.heldByThisProcess(file);
        } catch (IOException e) {
            return true; // kept open for this copy's next use of the file, rather than risk the first copy's lock
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
