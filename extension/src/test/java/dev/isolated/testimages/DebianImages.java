package dev.isolated.testimages;

import dev.isolated.internal.registry.LocalRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Real Debian images in a registry of the test's own: the Debian bookworm rootfs directories that
 * {@code .ci/install-deps} builds with {@code debootstrap} into {@link #ROOTFS_CACHE} become OCI images, pushed
 * with {@code skopeo} to Debian's {@code docker-registry} started on 127.0.0.1 (a free port). {@link #close()}
 * stops the registry and deletes the images' files.
 *
 * <ul>
 *   <li>{@link #MINBASE}: one layer, the minbase rootfs.</li>
 *   <li>{@link #REDIS}: that same layer, then a layer with what installing {@code redis-server} changed
 *       (whiteouts for what it removed, of which there are none); runs as {@code redis} in {@code /var/lib/redis}, {@code Cmd} starts
 *       redis-server on port 6379 without persistence and without protected mode.</li>
 *   <li>{@link #POSTGRES}: the same base layer, then what installing {@code postgresql-15} changed; runs as
 *       {@code postgres}, {@code Cmd} starts the cluster {@code 15/main} the package made (listening on 127.0.0.1:5432
 *       and in {@code /run/postgresql}; SSL on, with the package's snakeoil key, which {@code postgres} reads
 *       through its supplementary group {@code ssl-cert} from {@code /etc/group}).</li>
 * </ul>
 *
 * Layers are written reproducibly (sorted entries, gzip without a timestamp), so the same rootfs directories
 * always give the same digests, and the base layer has one digest in every image. They are written once and kept
 * in {@code ROOTFS_CACHE/layers/} for later runs when that directory can be written (see {@link LayerCache}).
 */
public final class DebianImages implements AutoCloseable {

    /** Where .ci/install-deps puts the rootfs directories (one subdirectory per image). */
    public static final Path ROOTFS_CACHE = Path.of("/var/cache/isolated-test-images/bookworm-minbase-v2");

    /** Debian bookworm, {@code debootstrap --variant=minbase}: one layer. */
    public static final String MINBASE = "debian:bookworm-minbase";

    /** Debian bookworm minbase + {@code redis-server} (7.0): two layers. */
    public static final String REDIS = "redis:7-bookworm";

    /** Debian bookworm minbase + {@code postgresql-15}: two layers. */
    public static final String POSTGRES = "postgres:15-bookworm";

    /** The layers, written once ({@link LayerCache}); the rootfs directories never change. */
    private static final LayerCache LAYERS = new LayerCache(ROOTFS_CACHE.resolve("layers"));

    private static final String PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** Each image: its rootfs directory under {@link #ROOTFS_CACHE} and its config's {@code "config"} object. */
    private static final Map<String, String[]> IMAGES = Map.of(
            MINBASE, new String[] {"minbase", "{\"Env\":[\"" + PATH + "\"],\"Cmd\":[\"bash\"]}"},
            REDIS,
                    new String[] {
                        "redis",
                        "{\"Env\":[\"" + PATH + "\"],\"User\":\"redis\",\"WorkingDir\":\"/var/lib/redis\","
                                + "\"ExposedPorts\":{\"6379/tcp\":{}},\"Cmd\":[\"redis-server\",\"--port\",\"6379\",\"--save\",\"\","
                                + "\"--appendonly\",\"no\",\"--protected-mode\",\"no\"]}"
                    },
            POSTGRES,
                    new String[] {
                        "postgresql",
                        "{\"Env\":[\"PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:"
                                + "/usr/sbin:/usr/bin:/sbin:/bin\",\"PGDATA=/var/lib/postgresql/15/main\"],\"User\":\"postgres\","
                                + "\"WorkingDir\":\"/var/lib/postgresql\",\"ExposedPorts\":{\"5432/tcp\":{}},\"Cmd\":[\"postgres\","
                                + "\"-c\",\"config_file=/etc/postgresql/15/main/postgresql.conf\"]}"
                    });

    private final Path work;
    private final LocalRegistry registry;
    private final OciLayoutWriter layout;
    private RootfsLayer.Written base;
    private final Map<String, List<RootfsLayer.Written>> pushed = new LinkedHashMap<>();
    private final Map<String, OciLayoutWriter.Added> manifests = new LinkedHashMap<>();

    private DebianImages(Path work, LocalRegistry registry) throws IOException {
        this.work = work;
        this.registry = registry;
        this.layout = new OciLayoutWriter(work.resolve("layout"));
    }

    /**
     * Starts a registry and pushes the images named (any of {@link #MINBASE}, {@link #REDIS}, {@link #POSTGRES}).
     *
     * @throws AssertionError when .ci/install-deps has not built the rootfs directories
     */
    public static DebianImages start(String... images) throws Exception {
        if (!Files.isDirectory(ROOTFS_CACHE.resolve("minbase"))) {
            throw new AssertionError("No Debian rootfs in " + ROOTFS_CACHE
                    + ": run .ci/install-deps (as root), which builds " + "it with debootstrap");
        }
        Path work = Files.createTempDirectory("isolated-debian-images-");
        DebianImages started = null;
        try {
            started = new DebianImages(work, LocalRegistry.start(work, work.resolve("storage")));
            for (String image : images) {
                started.push(image);
            }
            return started;
        } catch (Exception | Error e) {
            if (started != null) {
                started.close();
            } else {
                delete(work);
            }
            throw e;
        }
    }

    /**
     * Pushes one more of the images (once); returns its full name in this registry.
     */
    public synchronized String push(String image) throws Exception {
        String[] what = IMAGES.get(image);
        if (what == null) {
            throw new IllegalArgumentException("No Debian test image " + image + "; there are " + IMAGES.keySet());
        }
        if (!pushed.containsKey(image)) {
            if (base == null) {
                base = layout.store(baseLayer(work));
            }
            List<RootfsLayer.Written> layers = layers(layout, work, base, image);
            manifests.put(image, layout.add(what[0], what[1], layers));
            registry.push(layout.directory(), what[0], image);
            pushed.put(image, layers);
        }
        return name(image);
    }

    /**
     * Writes an OCI image layout directory holding {@code image} alone ({@link #MINBASE}, {@link #REDIS} or
     * {@link #POSTGRES}), without a registry: what a pull of it lays out, and what an OCI archive of it holds.
     *
     * @param directory where the layout goes; created, and must not exist yet
     * @return its layers, lowest first, stored in {@code directory}
     * @throws AssertionError when .ci/install-deps has not built the rootfs directories
     */
    public static List<RootfsLayer.Written> writeLayout(Path directory, String image) throws IOException {
        String[] what = IMAGES.get(image);
        if (what == null) {
            throw new IllegalArgumentException("No Debian test image " + image + "; there are " + IMAGES.keySet());
        }
        if (!Files.isDirectory(ROOTFS_CACHE.resolve("minbase"))) {
            throw new AssertionError("No Debian rootfs in " + ROOTFS_CACHE
                    + ": run .ci/install-deps (as root), which builds " + "it with debootstrap");
        }
        Path work = Files.createTempDirectory("isolated-debian-layout-");
        try {
            OciLayoutWriter layout = new OciLayoutWriter(Files.createDirectory(directory));
            List<RootfsLayer.Written> layers = layers(layout, work, layout.store(baseLayer(work)), image);
            layout.add(what[0], what[1], layers);
            return layers;
        } finally {
            delete(work);
        }
    }

    /** The minbase layer, written into {@code work} (or linked from {@link #LAYERS}). */
    private static RootfsLayer.Written baseLayer(Path work) throws IOException {
        Path minbase = ROOTFS_CACHE.resolve("minbase");
        return LAYERS.get("minbase", work.resolve("minbase.tar.gz"), file -> RootfsLayer.of(minbase, file));
    }

    /** The layers of {@code image}, lowest first, stored in {@code layout}: {@code base}, then its own if any. */
    private static List<RootfsLayer.Written> layers(
            OciLayoutWriter layout, Path work, RootfsLayer.Written base, String image) throws IOException {
        if (image.equals(MINBASE)) {
            return List.of(base);
        }
        String name = IMAGES.get(image)[0];
        return List.of(
                base,
                layout.store(LAYERS.get(
                        name,
                        work.resolve(name + ".tar.gz"),
                        file -> RootfsLayer.diff(ROOTFS_CACHE.resolve("minbase"), ROOTFS_CACHE.resolve(name), file))));
    }

    /** The image's full name in this registry, e.g. {@code 127.0.0.1:40123/redis:7-bookworm}. */
    public String name(String image) {
        return registry.host() + "/" + image;
    }

    /** The layers of a pushed image, lowest first. */
    public synchronized List<RootfsLayer.Written> layers(String image) {
        List<RootfsLayer.Written> layers = pushed.get(image);
        if (layers == null) {
            throw new IllegalStateException(image + " was not pushed");
        }
        return layers;
    }

    /** The digest of a pushed image's config blob. */
    public synchronized String configDigest(String image) {
        layers(image);
        return manifests.get(image).config();
    }

    /** {@code 127.0.0.1:<port>}: what {@code isolated.registry.insecure} must list. */
    public String host() {
        return registry.host();
    }

    /** The registry, to count its requests. */
    public LocalRegistry registry() {
        return registry;
    }

    @Override
    public void close() {
        registry.close();
        delete(work);
    }

    private static void delete(Path directory) {
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete " + directory, e);
        }
    }
}
