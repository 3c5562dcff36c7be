package dev.isolated.internal.image;

import dev.isolated.internal.registry.ImagePuller;
import dev.isolated.internal.registry.PullSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The one route from a {@code rootfs} or image name to an unpacked image, for {@code @Isolated},
 * {@code IsolatedEnvironment.builder()} and {@code ImageBuilder.from} alike: found on the class path or the file
 * system (or pulled), unpacked once per content digest into the JVM's one image cache (its directory, unpack
 * limits and size cap read from the configuration when it is first used), and remembered for the rest of the
 * run (a tar file rewritten meanwhile, as by a test that builds its image, is resolved again, and so is a
 * directory whose {@code index.json}, {@code manifest.json} or {@code oci-layout} changed, came or went; a class
 * path resource is looked up on the class path once).
 */
public final class RootfsImages {
    private static final Logger LOG = Logger.getLogger(RootfsImages.class.getName());
    private static final Map<List<Object>, UnpackedImage> RESOLVED = new ConcurrentHashMap<>();
    private static final Map<List<Object>, UnpackedImage> PULLED = new ConcurrentHashMap<>();
    /**
     * Images found as class path resources, by name, loader and working directory: a resource is looked up on the
     * class path once per run (every test would search it again); its file's version is still read each time.
     */
    private static final Map<List<Object>, ImageSource> ON_CLASS_PATH = new ConcurrentHashMap<>();
    /** The JVM's working directory, which does not change while it runs. */
    private static final Path WORKING_DIRECTORY = Paths.get("").toAbsolutePath();

    private static ImageCache cache;
    private static Path cacheDirectory;
    private static UnpackLimits limits;
    /** {@link SettingNames#CACHE_MAX_BYTES} when unset: 20 GiB. */
    private static final long DEFAULT_CACHE_MAX_BYTES = 20L * 1024 * 1024 * 1024;

    private RootfsImages() {}

    /**
     * @param rootfs a class path resource, a tar or a directory (see {@code Isolated.rootfs()})
     * @param classLoader where resources are looked up
     * @param configuration looks up configuration parameters; the cache directory and unpack limits are read
     *     when the cache is first used in this JVM
     * @return the unpacked image
     * @throws ImageNotFoundException if there is no such image
     */
    public static UnpackedImage image(
            String rootfs, ClassLoader classLoader, Function<String, Optional<String>> configuration) {
        Path workingDirectory = WORKING_DIRECTORY;
        List<Object> where = List.of(rootfs, classLoader, workingDirectory);
        ImageSource source = ON_CLASS_PATH.get(where);
        List<Object> version = null;
        if (source != null) {
            try {
                version = version(source);
            } catch (UncheckedIOException gone) { // the resource's file went away: look for it again
                ON_CLASS_PATH.remove(where, source);
                source = null;
            }
        }
        if (source == null) {
            boolean[] onClassPath = new boolean[1];
            source = new RootfsLocator(classLoader, workingDirectory).locate(rootfs, onClassPath);
            version = version(source);
            if (onClassPath[0]) {
                ON_CLASS_PATH.put(where, source);
            }
        }
        return RESOLVED.computeIfAbsent(
                List.of(rootfs, classLoader, workingDirectory, version), new Unpack(source, configuration));
    }

    /**
     * Unpacks an image found on first use. A class, not a lambda: each lambda is a class spun at its first use, and
     * this one is on the first test's path.
     */
    private static final class Unpack implements Function<List<Object>, UnpackedImage> {
        private final ImageSource source;
        private final Function<String, Optional<String>> configuration;

        Unpack(ImageSource source, Function<String, Optional<String>> configuration) {
            this.source = source;
            this.configuration = configuration;
        }

        @Override
        public UnpackedImage apply(List<Object> key) {
            return cache(configuration).unpack(source);
        }
    }

    /** What the image cache reports, at level FINE (a class, not {@code LOG::fine}: see {@link Unpack}). */
    private static final class FineNotes implements Consumer<String> {
        @Override
        public void accept(String note) {
            LOG.fine(note);
        }
    }

    /**
     * What changes when a tar file is rewritten (a test may build an image to the same path twice): its size,
     * modification time and inode; for a directory, the same of each {@link LayoutDirectory#MARKERS marker} at
     * its top, so that a layout written again, or a rootfs directory that became a layout (or stopped being
     * one), is resolved again; nothing for class path resources, which do not change during a run.
     */
    private static List<Object> version(ImageSource source) {
        if (source instanceof ImageSource.Archive archive && archive.backingFile() != null) {
            try {
                BasicFileAttributes attributes = Files.readAttributes(archive.backingFile(), BasicFileAttributes.class);
                return Arrays.asList(attributes.size(), attributes.lastModifiedTime(), attributes.fileKey());
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read the attributes of " + archive.backingFile(), e);
            }
        }
        if (source instanceof ImageSource.Directory directory) {
            List<Object> version = new ArrayList<>();
            for (String marker : LayoutDirectory.MARKERS) {
                Path file = directory.path().resolve(marker);
                try {
                    BasicFileAttributes attributes =
                            Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    version.addAll(Arrays.asList(
                            marker, attributes.size(), attributes.lastModifiedTime(), attributes.fileKey()));
                } catch (NoSuchFileException absent) {
                    // not a marker of this directory: it counts by its absence
                } catch (IOException e) {
                    throw new UncheckedIOException("Cannot read the attributes of " + file, e);
                }
            }
            return version;
        }
        return List.of();
    }

    /**
     * The image named {@code name} ({@code postgres:16}, {@code ghcr.io/org/app@sha256:...}), pulled into the image
     * store as {@code isolated.pull} says and unpacked like an OCI layout. Resolved once per run and name.
     *
     * @param name the image name
     * @param configuration looks up configuration parameters
     * @return the unpacked image
     */
    public static UnpackedImage pulled(String name, Function<String, Optional<String>> configuration) {
        ImageCache imageCache = cache(configuration);
        PullSettings settings;
        try {
            settings = PullSettings.from(configuration, System::getenv);
        } catch (IllegalArgumentException e) {
            throw new ImageSettingsException(e.getMessage(), e);
        }
        List<Object> key = Arrays.asList(
                name,
                settings.policy(),
                settings.insecure(),
                settings.mirror(),
                settings.username(),
                settings.platform());
        return PULLED.computeIfAbsent(key, k -> {
            // The pulled blobs and layout belong to no image until it is unpacked: pruning leaves them alone meanwhile.
            return StoreLock.whilePulling(cacheDirectory, () -> {
                Path layout = new ImagePuller(cacheDirectory, settings, maxImageBytes()).pull(name);
                return imageCache.unpack(ImageSource.ofDirectory(layout));
            });
        });
    }

    /**
     * @param rootfs a class path resource, a tar or a directory
     * @param classLoader where resources are looked up
     * @return the unpacked rootfs, with the configuration of system properties
     */
    public static Path unpacked(String rootfs, ClassLoader classLoader) {
        return image(rootfs, classLoader, key -> Optional.ofNullable(System.getProperty(key)))
                .rootfs();
    }

    private static synchronized ImageCache cache(Function<String, Optional<String>> configuration) {
        if (cache == null) {
            cacheDirectory = CacheDirectory.resolve(configuration);
            limits = UnpackLimits.fromConfiguration(configuration);
            cache = new ImageCache(cacheDirectory, new SafeTarUnpacker(limits), new FineNotes())
                    .pruneAutomatically(cacheMaxBytes(configuration));
        }
        return cache;
    }

    /** {@link SettingNames#CACHE_MAX_BYTES}: 20 GiB unless set; 0 never prunes. */
    private static long cacheMaxBytes(Function<String, Optional<String>> configuration) {
        Optional<String> setting = configuration.apply(SettingNames.CACHE_MAX_BYTES);
        String value = setting.isPresent() ? setting.get().strip() : "";
        if (value.isEmpty()) {
            return DEFAULT_CACHE_MAX_BYTES;
        }
        try {
            long parsed = Long.parseLong(value);
            if (parsed >= 0) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ImageSettingsException("Configuration parameter " + SettingNames.CACHE_MAX_BYTES
                + " must be a number of bytes, 0 (never prune) or more, got '" + value + "'");
    }

    /** The image cache's {@code isolated.image.maxBytes}, which also bounds what a pull may download. */
    private static synchronized long maxImageBytes() {
        return limits.maxTotalBytes();
    }
}
