package dev.isolated.internal.image;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@link TwoLibraryCopiesTests} calls in each copy of the library, by reflection and with JDK types only, so
 * that a copy loaded by another class loader can be driven as the test's own.
 */
public final class LibraryCopyDriver {
    private LibraryCopyDriver() {}

    /**
     * Resolves the archive {@code archive} in the cache at {@code cacheDirectory}, as a test of this copy would.
     *
     * @return the rootfs, then this copy's notes, one a line
     */
    public static String unpack(String cacheDirectory, String archive) {
        List<String> notes = new ArrayList<>();
        ImageCache cache = new ImageCache(Path.of(cacheDirectory), new SafeTarUnpacker(), notes::add);
        Path rootfs = cache.rootfsFor(ImageSource.ofFile(Path.of(archive)));
        return rootfs + "\n" + String.join("\n", notes);
    }

    /**
     * A JVM of its own that waits for the file {@code args[2]} to exist, then prints what
     * {@link #unpack(String, String)} answers for the cache {@code args[0]} and the archive {@code args[1]}.
     */
    public static void main(String[] args) throws InterruptedException {
        Path go = Path.of(args[2]);
        while (java.nio.file.Files.notExists(go)) {
            Thread.sleep(5);
        }
        System.out.println(unpack(args[0], args[1]));
    }

    /** Gives back this copy's shared holds of the entries it handed out. */
    public static void forgetHandedOut() {
        ImageCache.forgetHandedOut();
    }

    /**
     * Does {@code what} with this copy's lock of {@code lockFile}: {@code acquireShared}, {@code releaseShared},
     * {@code tryExclusive}, {@code releaseExclusive}.
     *
     * @return what {@code tryExclusive} answered; {@code true} for the others
     */
    public static boolean lock(String what, String lockFile) throws IOException {
        CacheLock lock = CacheLock.of(Path.of(lockFile));
        switch (what) {
            case "acquireShared" -> lock.acquireShared();
            case "releaseShared" -> lock.releaseShared();
            case "tryExclusive" -> {
                return lock.tryExclusive();
            }
            case "releaseExclusive" -> lock.releaseExclusive();
            default -> throw new IllegalArgumentException(what);
        }
        return true;
    }
}
