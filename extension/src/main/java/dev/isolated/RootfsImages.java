package dev.isolated;

import dev.isolated.image.ImageConfig;
import dev.isolated.internal.image.ImageCache;
import dev.isolated.internal.image.RootfsLocator;
import dev.isolated.internal.image.UnpackedImage;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Turns the {@code rootfs} of an {@link Isolated} annotation into an unpacked image: found on the class path
 * or the file system, unpacked once per content digest into the shared image cache, and remembered for the
 * rest of the run (images do not change during a test run).
 */
final class RootfsImages {
    private static final Logger LOG = Logger.getLogger(RootfsImages.class.getName());
    private static final Map<List<Object>, UnpackedImage> RESOLVED = new ConcurrentHashMap<>();
    private static ImageCache cache;

    private RootfsImages() {
    }

    static UnpackedImage image(String rootfs, ClassLoader classLoader) {
        Path workingDirectory = Paths.get("").toAbsolutePath();
        return RESOLVED.computeIfAbsent(List.of(rootfs, classLoader, workingDirectory),
                key -> cache().unpack(new RootfsLocator(classLoader, workingDirectory).locate(rootfs)));
    }

    static Path unpacked(String rootfs, ClassLoader classLoader) {
        return image(rootfs, classLoader).rootfs();
    }

    /** The image config's {@code Env} as a map (later entries win). */
    static Map<String, String> configEnv(ImageConfig config) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String kv : config.env()) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                env.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return env;
    }

    private static synchronized ImageCache cache() {
        if (cache == null) {
            cache = ImageCache.atDefaultLocation(LOG::fine);
        }
        return cache;
    }
}
