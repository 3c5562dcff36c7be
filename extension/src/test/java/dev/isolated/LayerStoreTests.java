package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.internal.image.ImageCache;
import dev.isolated.internal.image.RootfsLocator;
import dev.isolated.internal.image.RuntimePlatform;
import dev.isolated.internal.image.SafeTarUnpacker;
import dev.isolated.internal.image.TestImages;
import dev.isolated.internal.registry.LocalRegistry;
import dev.isolated.internal.registry.TestOci;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, "one store for every source": each layer is unpacked once into {@code <cache>/layers/}, whatever format
 * brought it, and images are merged from the layers with hard links. Sizes are counted as {@code du} counts them:
 * each inode once. Every image is started through the public API in a child JVM with its own
 * {@code isolated.cache.dir}, as the cache of this JVM is set up already.
 */
@DisplayName("One store for every source")
class LayerStoreTests {

    private static final String RUN_CONFIG = "{\"Env\":[\"PATH=/bin:/usr/bin\"]}";
    private static Path work;
    private static LocalRegistry registry;
    private static byte[] busybox;
    private static byte[] app;
    private static byte[] other;

    @TempDir
    Path dir;

    @BeforeAll
    static void layers() throws Exception {
        work = Files.createTempDirectory("isolated-layer-store-tests-");
        registry = LocalRegistry.start(work, work.resolve("storage"));
        try (InputStream in = LayerStoreTests.class.getResourceAsStream("/busybox.tar")) {
            busybox = in.readAllBytes();
        }
        app = TestImages.layer(List.of("opt", "opt/app"), Map.of("opt/app/data", random(1, 1024 * 1024)));
        other = TestImages.layer(List.of("opt", "opt/other"), Map.of("opt/other/data", random(2, 512 * 1024)));
    }

    @AfterAll
    static void stopRegistry() throws IOException {
        if (registry != null) {
            registry.close();
        }
        try (Stream<Path> paths = Files.walk(work)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    @Test
    @DisplayName(
            "the same image from docker save, a docker-archive, an OCI layout, an OCI archive and a pull occupies its layers' size once")
    void oneImageFiveFormats() throws Exception {
        Path oci = TestOci.layout(dir.resolve("app-oci"), RuntimePlatform.architecture(), RUN_CONFIG, busybox, app);
        registry.push(oci, "1.0", "team/app:1");
        List<String> sources = List.of(
                write("app-docker.tar", TestImages.dockerSave(RUN_CONFIG, busybox, app)),
                write("app-podman.tar", TestImages.podmanDockerArchive(RUN_CONFIG, busybox, app)),
                oci.toString(),
                tar(oci, dir.resolve("app-oci.tar")));
        Path cache = dir.resolve("cache");

        List<String> lines = runFixture(
                cache,
                StartEach.class,
                "-Dtest.rootfs=" + String.join(",", sources),
                "-Dtest.image=" + registry.host() + "/team/app:1",
                "-Dtest.file=/opt/app/data",
                "-Dtest.sha256=" + sha256(fileOf(app)));

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
        assertThat(children(cache.resolve("images"))).as("one entry per source").hasSize(5);
        assertThat(children(cache.resolve("layers"))).as("stored layers").hasSize(2);
        long oneImage = uniqueBytes(anyRootfs(cache));
        assertThat(oneImage).as("one image's file content").isGreaterThan(1024 * 1024);
        long unpacked = uniqueBytes(cache.resolve("images"), cache.resolve("layers"));
        assertThat(unpacked)
                .as("bytes of images/ and layers/, each inode once (du)")
                .isBetween(oneImage, oneImage + 64 * 1024);
    }

    @Test
    @DisplayName("a second image sharing the base layer unpacks only its own layer and stores only its bytes more")
    void sharedBaseLayer() throws Exception {
        String first = write("first.tar", TestImages.dockerSave(RUN_CONFIG, busybox, app));
        Path second =
                TestOci.layout(dir.resolve("second-oci"), RuntimePlatform.architecture(), RUN_CONFIG, busybox, other);
        Path cache = dir.resolve("cache");

        List<String> lines = runFixture(
                cache,
                StartEach.class,
                "-Dtest.rootfs=" + first + "," + second,
                "-Dtest.file=/bin/busybox",
                "-Dtest.sha256=" + sha256(busyboxBinary()));

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
        assertThat(children(cache.resolve("layers")))
                .as("stored layers: the base once")
                .hasSize(3);
        Path secondEntry = entryFrom(cache, second.toString());
        assertThat(secondEntry.resolve("complete"))
                .content()
                .contains("2 layer(s), 1 unpacked now [" + TestOci.digest(other) + "], 1 reused from the layer store")
                .contains(TestOci.digest(busybox));
        long firstImage = uniqueBytes(entryFrom(cache, first).resolve("rootfs"));
        long all = uniqueBytes(cache.resolve("images"), cache.resolve("layers"));
        assertThat(all)
                .as("both images, each inode once")
                .isBetween(firstImage + 512 * 1024, firstImage + 512 * 1024 + 64 * 1024);
    }

    @Test
    @DisplayName(
            "isolated.cache.maxBytes prunes least recently used images in the background, never one another JVM uses, then the layers, blobs, layouts and tags nothing uses")
    void pruning() throws Exception {
        Path cache = dir.resolve("cache");
        Path pulledLayout =
                TestOci.layout(dir.resolve("other-oci"), RuntimePlatform.architecture(), RUN_CONFIG, busybox, other);
        registry.push(pulledLayout, "1.0", "team/other:1");
        String pulled = registry.host() + "/team/other:1";
        assertThat(runFixture(
                        cache,
                        StartEach.class,
                        "-Dtest.image=" + pulled,
                        "-Dtest.file=/opt/other/data",
                        "-Dtest.sha256=" + sha256(fileOf(other))))
                .singleElement()
                .satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
        Path pulledEntry = children(cache.resolve("images")).get(0);
        // This JVM uses another image from the same cache, as a JVM running tests does: it holds its lock shared.
        String held = write("held.tar", TestImages.dockerSave(RUN_CONFIG, busybox, app));
        Path heldRootfs = new ImageCache(cache, new SafeTarUnpacker(), note -> {})
                .rootfsFor(RootfsLocator.forCurrentThread().locate(held));
        assertThat(children(cache.resolve("layers"))).hasSize(3);
        assertThat(children(cache.resolve("layouts"))).hasSize(1);

        // A JVM capped at 1 byte starts a plain rootfs, then prunes in the background.
        List<String> lines = runFixture(
                cache,
                StartThenAwaitPrune.class,
                "-D" + IsolatedConfiguration.CACHE_MAX_BYTES + "=1",
                "-Dtest.gone=" + pulledEntry + "," + cache.resolve("blobs/sha256"));

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
        assertThat(pulledEntry)
                .as("the least recently used image, which no JVM holds")
                .doesNotExist();
        assertThat(heldRootfs.resolve("opt/app/data"))
                .as("the image this JVM holds")
                .isRegularFile();
        assertThat(children(cache.resolve("images")))
                .as("the held image and the capped JVM's own")
                .hasSize(2);
        assertThat(children(cache.resolve("layers")))
                .extracting(p -> "sha256:" + p.getFileName())
                .as("the layers the held image uses")
                .containsExactlyInAnyOrder(TestOci.digest(busybox), TestOci.digest(app));
        assertThat(children(cache.resolve("layouts"))).as("the pulled layout").isEmpty();
        assertThat(children(cache.resolve("blobs/sha256")))
                .as("the pulled blobs")
                .isEmpty();
        try (Stream<Path> refs = Files.walk(cache.resolve("refs"))) {
            assertThat(refs.filter(Files::isRegularFile)).as("the pulled tag").isEmpty();
        }
    }

    @Test
    @DisplayName(
            "the automatic prune is skipped while nothing was stored since a prune left the cache under its cap; a store, or a JVM that died storing, makes the next JVM prune")
    void pruneSkippedWhileNothingStored() throws Exception {
        Path cache = dir.resolve("cache");
        String cap = "-D" + IsolatedConfiguration.CACHE_MAX_BYTES + "=" + (1L << 30);
        Path record = cache.resolve("last-prune");
        Files.createDirectories(cache.resolve("layouts")); // so that a prune sweeps tags too

        // The first JVM unpacks busybox.tar, then prunes: the cache fits, so the prune records what it left.
        runPassing(cache, cap);
        assertThat(Files.readString(record)).startsWith("left=");

        // A tag whose manifest is not stored, which only a prune removes (refs/ is not watched, see PruneRecord).
        Path first = danglingTag(cache, "first");
        // A JVM that only uses the image already unpacked stores nothing: it does not prune.
        runPassing(cache, cap);
        assertThat(first).as("a dangling tag, after a JVM that stored nothing").exists();
        assertThat(record).exists();

        // A JVM that unpacks a new image stores into the cache: it prunes.
        String added = write("added.tar", TestImages.dockerSave(RUN_CONFIG, busybox, app));
        runPassing(cache, cap, "-Dtest.rootfs=" + added);
        assertThat(first).as("a dangling tag, after a JVM that stored an image").doesNotExist();
        assertThat(Files.readString(record)).startsWith("left=");

        // A layer added by hand, which no image uses, changes layers/: the next JVM prunes though it stores nothing.
        Path orphan = orphanLayer(cache, "orphan");
        Path second = danglingTag(cache, "second");
        runPassing(cache, cap);
        assertThat(orphan).as("a layer added by hand").doesNotExist();
        assertThat(second).as("a dangling tag, after a layer was added by hand").doesNotExist();
        assertThat(Files.readString(record)).startsWith("left=");

        // A JVM killed while it unpacks an image leaves it half-written, and no record: the next JVM prunes.
        Path third = danglingTag(cache, "third");
        Path halfWritten = killWhileUnpacking(cache, cap);
        assertThat(record).as("the record, after a JVM died storing").doesNotExist();
        runPassing(cache, cap);
        assertThat(halfWritten).as("the image the killed JVM was unpacking").doesNotExist();
        assertThat(third).as("a dangling tag, after a JVM died storing").doesNotExist();
        assertThat(Files.readString(record)).startsWith("left=");
    }

    /** Runs {@link StartThenAwaitPruneThread} in a child JVM, which must pass. */
    private static void runPassing(Path cache, String... jvmArguments) throws Exception {
        assertThat(runFixture(cache, StartThenAwaitPruneThread.class, jvmArguments))
                .singleElement()
                .satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    /** A tag file of a pulled image whose manifest is not stored, as a pull that broke off may leave. */
    private static Path danglingTag(Path cache, String tag) throws IOException {
        Path ref = Files.createDirectories(cache.resolve("refs/127.0.0.1/team/gone"))
                .resolve(tag);
        Files.writeString(ref, "sha256:" + "0".repeat(64) + "\n");
        return ref;
    }

    /** A directory in the layer store that no image uses, named by the sha256 of {@code name}. */
    private static Path orphanLayer(Path cache, String name) throws Exception {
        String hex = HexFormat.of()
                .formatHex(MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8)));
        Path tree = Files.createDirectories(cache.resolve("layers").resolve(hex).resolve("tree"));
        Files.writeString(tree.resolve("data"), name);
        return tree.getParent();
    }

    /**
     * Starts a child JVM that unpacks a 256 MiB rootfs tar into {@code cache} and kills it (SIGKILL) as soon as its
     * image directory appears; returns that directory.
     */
    private Path killWhileUnpacking(Path cache, String cap) throws Exception {
        Path big = Files.createDirectories(dir.resolve("big"));
        try (java.io.RandomAccessFile file =
                new java.io.RandomAccessFile(big.resolve("data").toFile(), "rw")) {
            file.setLength(256L * 1024 * 1024);
        }
        String archive = tar(big, dir.resolve("big.tar"));
        List<Path> before = children(cache.resolve("images"));
        List<String> command = new ArrayList<>(List.of(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-D" + IsolatedConfiguration.CACHE_DIR + "=" + cache,
                cap,
                "-Dtest.rootfs=" + archive,
                "-cp",
                System.getProperty("java.class.path"),
                FixtureRunner.class.getName(),
                StartThenAwaitPruneThread.class.getName()));
        Process child = new ProcessBuilder(command)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            Path[] unpacking = new Path[1];
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(1))
                    .until(() -> {
                        List<Path> added = new ArrayList<>(children(cache.resolve("images")));
                        added.removeAll(before);
                        unpacking[0] = added.isEmpty() ? null : added.get(0);
                        return unpacking[0] != null;
                    });
            child.destroyForcibly();
            assertThat(child.waitFor()).as("the killed JVM's exit code").isEqualTo(137);
            assertThat(unpacking[0].resolve("complete"))
                    .as("the killed JVM's image, half-written")
                    .doesNotExist();
            return unpacking[0];
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    @DisplayName("as a non-root user too: layers stored once, files the user's, the merged images run")
    void rootless() throws Exception {
        Path run = NobodyJvm.runDirectory(dir, "nobody");
        Path home = Files.createDirectories(run.resolve("home"));
        Files.write(home.resolve("first.tar"), TestImages.dockerSave(RUN_CONFIG, busybox, app));
        Files.write(home.resolve("second.tar"), TestImages.podmanDockerArchive(RUN_CONFIG, busybox, other));
        for (String name : List.of("first.tar", "second.tar")) {
            Files.setPosixFilePermissions(
                    home.resolve(name), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        }

        List<String> lines = NobodyJvm.runFixture(run, StartBothFromHome.class);

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
        Path cache = home.resolve(".cache/isolated");
        assertThat(children(cache.resolve("layers")))
                .extracting(p -> "sha256:" + p.getFileName())
                .containsExactlyInAnyOrder(TestOci.digest(busybox), TestOci.digest(app), TestOci.digest(other));
        Path data = children(cache.resolve("layers")).stream()
                .map(p -> p.resolve("tree/opt/app/data"))
                .filter(Files::exists)
                .findFirst()
                .orElseThrow();
        assertThat(Files.getAttribute(data, "unix:uid"))
                .as("owner of a stored file")
                .isEqualTo(Integer.parseInt(NobodyJvm.NOBODY));
        assertThat(Files.getAttribute(data, "unix:nlink"))
                .as("links: the layer's and the image's")
                .isEqualTo(2);
    }

    /** Starts {@code ~/first.tar} and {@code ~/second.tar}, each with a file of its own layer and the shared base. */
    static class StartBothFromHome {
        @Test
        void test() {
            String home = System.getProperty("user.home");
            for (String[] image : List.of(
                    new String[] {"first.tar", "/opt/app/data"}, new String[] {"second.tar", "/opt/other/data"})) {
                try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                        .rootfs(home + "/" + image[0])
                        .start()) {
                    assertThat(env.exec("sh", "-c", "test -s " + image[1] + " && /bin/busybox true"))
                            .succeeded();
                }
            }
        }
    }

    /** Starts each image of {@code test.rootfs} and {@code test.image} and checks one file's sha256 in it. */
    static class StartEach {
        @Test
        void test() throws Exception {
            List<IsolatedEnvironmentBuilder> builders = new ArrayList<>();
            for (String rootfs : System.getProperty("test.rootfs", "").split(",")) {
                if (!rootfs.isEmpty()) {
                    builders.add(IsolatedEnvironment.builder().rootfs(rootfs));
                }
            }
            if (System.getProperty("test.image") != null) {
                builders.add(IsolatedEnvironment.builder().image(System.getProperty("test.image")));
            }
            for (IsolatedEnvironmentBuilder builder : builders) {
                try (IsolatedEnvironment env = builder.start()) {
                    assertThat(env.exec("sha256sum", System.getProperty("test.file")))
                            .succeeded()
                            .stdout()
                            .startsWith(System.getProperty("test.sha256"));
                }
            }
        }
    }

    /**
     * Starts busybox.tar, then waits (up to 60 s) for the background prune to remove the entry {@code test.gone}
     * names first and to empty the directory it names second, then for the log line that ends the prune.
     */
    static class StartThenAwaitPrune {
        /** Held here: the logging framework keeps loggers only weakly. */
        static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(ImageCache.class.getName());

        static final java.util.concurrent.atomic.AtomicBoolean PRUNED = new java.util.concurrent.atomic.AtomicBoolean();

        @BeforeAll
        static void listen() {
            LOG.addHandler(new java.util.logging.Handler() {
                @Override
                public void publish(java.util.logging.LogRecord record) {
                    if (record.getMessage().startsWith("Pruned ")) {
                        PRUNED.set(true);
                    }
                }

                @Override
                public void flush() {}

                @Override
                public void close() {}
            });
        }

        @Test
        @Isolated(rootfs = "busybox.tar")
        void test(IsolatedEnvironment env) {
            assertThat(env.exec("true")).succeeded();
            String[] gone = System.getProperty("test.gone").split(",");
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(PRUNED::get);
            assertThat(Path.of(gone[0])).doesNotExist();
            assertThat(Path.of(gone[1])).isEmptyDirectory();
        }
    }

    /**
     * Starts {@code test.rootfs} (busybox.tar unless set), then waits (up to 60 s) until this JVM's background prune,
     * if it started one, has ended.
     */
    static class StartThenAwaitPruneThread {
        @Test
        void test() {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs(System.getProperty("test.rootfs", "busybox.tar"))
                    .start()) {
                assertThat(env.namespaces()).isNotEmpty();
            }
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> Thread.getAllStackTraces().keySet().stream()
                            .noneMatch(thread -> thread.getName().equals("isolated-cache-prune")));
        }
    }

    /** Runs {@code fixture} in a child JVM whose image cache is {@code cache}. */
    private static List<String> runFixture(Path cache, Class<?> fixture, String... jvmArguments)
            throws IOException, InterruptedException {
        List<String> options = new ArrayList<>(List.of(
                "-D" + IsolatedConfiguration.CACHE_DIR + "=" + cache,
                "-D" + IsolatedConfiguration.REGISTRY_INSECURE + "=" + registry.host()));
        options.addAll(List.of(jvmArguments));
        return FixtureRunner.runInChildJvm(List.of(), options, fixture);
    }

    /** The bytes of the regular files under {@code roots}, each inode once, as {@code du} counts them. */
    private static long uniqueBytes(Path... roots) throws IOException {
        Map<Object, Long> inodes = new HashMap<>();
        for (Path root : roots) {
            try (Stream<Path> paths = Files.walk(root)) {
                for (Path path : paths.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                        .toList()) {
                    inodes.put(Files.getAttribute(path, "unix:ino", LinkOption.NOFOLLOW_LINKS), Files.size(path));
                }
            }
        }
        return inodes.values().stream().mapToLong(Long::longValue).sum();
    }

    /** The image entries' directories. */
    private static List<Path> children(Path directory) throws IOException {
        try (Stream<Path> children = Files.list(directory)) {
            return children.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                            || p.getParent().getFileName().toString().equals("sha256"))
                    .sorted()
                    .toList();
        }
    }

    private static Path anyRootfs(Path cache) throws IOException {
        return children(cache.resolve("images")).get(0).resolve("rootfs");
    }

    /** The image entry whose marker names {@code source}. */
    private static Path entryFrom(Path cache, String source) throws IOException {
        for (Path entry : children(cache.resolve("images"))) {
            if (Files.readString(entry.resolve("complete"))
                    .lines()
                    .anyMatch(l -> l.startsWith("source=") && l.contains(source))) {
                return entry;
            }
        }
        throw new AssertionError("no image entry from " + source + " in " + cache);
    }

    private String write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes).toString();
    }

    /** An OCI archive: the layout directory as a tar. */
    private static String tar(Path directory, Path archive) throws Exception {
        Process tar = new ProcessBuilder("tar", "-C", directory.toString(), "-cf", archive.toString(), ".")
                .redirectErrorStream(true)
                .start();
        assertThat(tar.waitFor())
                .as(new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                .isZero();
        return archive.toString();
    }

    private static String random(long seed, int length) {
        Random random = new Random(seed);
        StringBuilder text = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            text.append((char) ('a' + random.nextInt(26)));
        }
        return text.toString();
    }

    /** The content of the one data file of {@code app} or {@code other}. */
    private static byte[] fileOf(byte[] layer) throws IOException {
        return entryContent(layer, "data");
    }

    private static byte[] busyboxBinary() throws IOException {
        return entryContent(busybox, "bin/busybox");
    }

    private static byte[] entryContent(byte[] tar, String nameEnd) throws IOException {
        try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                new java.io.ByteArrayInputStream(tar))) {
            for (var entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                if (entry.isFile() && entry.getName().endsWith(nameEnd)) {
                    return in.readAllBytes();
                }
            }
        }
        throw new AssertionError("no " + nameEnd + " in the layer");
    }

    private static String sha256(byte[] content) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    }
}
