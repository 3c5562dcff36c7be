package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import dev.isolated.internal.os.OwnDirectory;
import dev.isolated.internal.os.TreeRemoval;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * This JVM's directory for disk-backed writable layers and frozen states: {@code ROOT/jvm-<pid>-<random>}
 * ({@code 0700}, in a {@code 0700} root of the user's own), holding a {@code lock} file this JVM keeps locked
 * ({@code fcntl}) while it runs. It is removed when the JVM exits; a JVM killed by SIGKILL cannot, so the
 * first use of a root in any later JVM removes each {@code jvm-*} sibling whose {@code lock} nobody holds (never one
 * of this process's, which another copy of this library in the JVM, loaded by another class loader, may hold)
 * (the lock is taken on {@code lock.new} and renamed into place, so a directory being set up is never taken
 * for a dead one). Removal goes through descriptors ({@link TreeRemoval}): symlinks in it are never followed.
 */
public final class LayerDirectories {
    private static final Logger LOG = Logger.getLogger(LayerDirectories.class.getName());
    private static final String PREFIX = "jvm-";
    private static final String LOCK = "lock";
    private static final Map<Path, LayerDirectories> BY_ROOT = new HashMap<>();

    private final Path dir;
    private final AtomicInteger counter = new AtomicInteger();

    @SuppressWarnings({"unused", "FieldCanBeLocal"}) // held for the JVM's life: the lock goes with it
    private final FileLock lock;

    private LayerDirectories(Path dir, FileLock lock) {
        this.dir = dir;
        this.lock = lock;
    }

    /**
     * @param root the configured directory (created {@code 0700} when missing; it must be the user's own)
     * @param setting the setting that moves it, for messages
     * @return this JVM's directory in it, made (and dead JVMs' leftovers removed) at the first call
     */
    public static synchronized LayerDirectories in(Path root, String setting) {
        Path absolute = root.toAbsolutePath().normalize();
        LayerDirectories existing = BY_ROOT.get(absolute);
        if (existing != null) {
            return existing;
        }
        try {
            OwnDirectory.createPrivate(absolute);
            OwnDirectory.requirePrivate(absolute, "disk-backed writable layers and frozen states", setting);
            sweep(absolute);
            Path dir = OwnDirectory.createPrivate(absolute.resolve(PREFIX
                    + ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(randomBytes())));
            Path pending = dir.resolve(LOCK + ".new");
            FileChannel channel = FileChannel.open(
                    pending, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            FileLock lock = channel.lock();
            Files.move(pending, dir.resolve(LOCK), StandardCopyOption.ATOMIC_MOVE);
            LayerDirectories created = new LayerDirectories(dir, lock);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> removeQuietly(dir), "isolated-layers-cleanup"));
            BY_ROOT.put(absolute, created);
            return created;
        } catch (IOException e) {
            throw new IsolatedException(
                    "Cannot make this JVM's directory for writable layers in " + absolute + ": " + e + ". Set "
                            + setting + "=<a directory of yours> to move it.",
                    e);
        }
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[8];
        new SecureRandom().nextBytes(bytes);
        return bytes;
    }

    /** @return a new, empty {@code 0700} directory for one environment's upper and work directories */
    public Path newDiskLayer() {
        try {
            Path layer = dir.resolve("upper-" + counter.incrementAndGet());
            Files.createDirectory(
                    layer,
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
            return layer;
        } catch (IOException e) {
            throw new IsolatedException(
                    "Cannot make a directory for a disk-backed writable layer in " + dir + ": " + e, e);
        }
    }

    /** @return a path, not yet existing, for a frozen state */
    public Path newFrozenPath() {
        return dir.resolve("frozen-" + counter.incrementAndGet());
    }

    /** Removes a tree of this JVM's (a closed environment's layer), through descriptors. */
    public static void remove(Path tree) throws IOException {
        TreeRemoval.remove(tree);
    }

    private static void removeQuietly(Path tree) {
        if (!Files.exists(tree, LinkOption.NOFOLLOW_LINKS)) {
            return; // e.g. a test's temporary directory, removed already
        }
        try {
            TreeRemoval.remove(tree);
        } catch (IOException | RuntimeException e) {
            System.err.println("[isolated] could not remove " + tree + ": " + e);
        }
    }

    /**
     * Removes every {@code jvm-*} directory whose lock file exists and is held by nobody. This process's own
     * ({@code jvm-<pid>-*}, another copy of this library loaded by another class loader) are not even opened: the
     * lock is per process, so closing a descriptor of its file would drop the other copy's lock, and other JVMs
     * would then take that copy's live directory for a dead one.
     */
    private static void sweep(Path root) throws IOException {
        String ours = PREFIX + ProcessHandle.current().pid() + "-";
        try (DirectoryStream<Path> children = Files.newDirectoryStream(root, PREFIX + "*")) {
            for (Path child : children) {
                if (!child.getFileName().toString().startsWith(ours)
                        && Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)
                        && isDead(child.resolve(LOCK))) {
                    LOG.info(() -> "[isolated] removing " + child + ", left behind by a JVM that died");
                    removeQuietly(child);
                }
            }
        }
    }

    private static boolean isDead(Path lockFile) {
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            FileLock held = channel.tryLock();
            if (held == null) {
                return false;
            }
            held.release();
            return true;
        } catch (NoSuchFileException e) {
            return false; // being set up, or not ours
        } catch (IOException | OverlappingFileLockException e) {
            return false;
        }
    }
}
