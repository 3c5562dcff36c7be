package dev.isolated;

import dev.isolated.internal.image.ImageCache;
import dev.isolated.internal.image.RootfsLocator;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Turns the {@code rootfs} of an {@link Isolated} annotation into an unpacked directory: found on the class
 * path or the file system, unpacked once per content digest into the shared image cache.
 */
final class RootfsImages {
    private static final Logger LOG = Logger.getLogger(RootfsImages.class.getName());
    private static final Map<List<Object>, Path> RESOLVED = new ConcurrentHashMap<>();
    private static ImageCache cache;

    private RootfsImages() {
    }

    /**
     * @param rootfs the annotation's value
     * @param classLoader the test class's loader
     * @return the unpacked rootfs; resolved (and its archive hashed) once per JVM, as images do not change
     *     during a test run
     */
    static Path unpacked(String rootfs, ClassLoader classLoader) {
        Path workingDirectory = Paths.get("").toAbsolutePath();
        return RESOLVED.computeIfAbsent(List.of(rootfs, classLoader, workingDirectory),
                key -> cache().rootfsFor(new RootfsLocator(classLoader, workingDirectory).locate(rootfs)));
    }

    private static synchronized ImageCache cache() {
        if (cache == null) {
            cache = ImageCache.atDefaultLocation(LOG::info);
        }
        return cache;
    }
}
