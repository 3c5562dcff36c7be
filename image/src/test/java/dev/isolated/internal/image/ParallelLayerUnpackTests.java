package dev.isolated.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The layers of an image are unpacked at once, each into its own directory of the layer store")
class ParallelLayerUnpackTests {

    @TempDir
    Path cacheDirectory;

    @TempDir
    Path work;

    private final List<String> notes = new CopyOnWriteArrayList<>();

    @AfterEach
    void noUnpackThreadLeft() {
        assertThat(unpackThreads()).isEmpty();
    }

    @Test
    @DisplayName("an upper layer is stored while a lower one waits, and the image is merged from both")
    void layersAtOnce() throws Exception {
        byte[] lower = TestImages.layer(List.of("usr"), Map.of("usr/lower", "from the lower layer"));
        byte[] upper = TestImages.layer(List.of("etc"), Map.of("etc/upper", "from the upper layer"));
        Path layout = TestImages.ociLayout(work.resolve("layout"), "{}", lower, upper);
        ImageCache cache = cache(2);
        Path layers = cacheDirectory.resolve("layers");
        // Another thread holds the lower layer's lock, as a JVM storing it would: one after the other, the upper
        // layer would wait for it.
        CacheLock lowerLock = cache.layerStore().lock(TestTars.sha256(lower));
        assertThat(lowerLock.acquireExclusive(() -> false)).isTrue();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Path> rootfs;
            try {
                rootfs = pool.submit(() -> cache.rootfsFor(ImageSource.ofDirectory(layout)));
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> Files.isRegularFile(
                                layers.resolve(TestTars.sha256(upper)).resolve(LayerStore.MARKER)));
                assertThat(layers.resolve(TestTars.sha256(lower))).doesNotExist();
                assertThat(rootfs).isNotDone();
            } finally {
                lowerLock.releaseExclusive();
            }
            Path merged = rootfs.get(60, TimeUnit.SECONDS);
            assertThat(merged.resolve("usr/lower")).hasContent("from the lower layer");
            assertThat(merged.resolve("etc/upper")).hasContent("from the upper layer");
            assertThat(layers.resolve(TestTars.sha256(lower)).resolve(LayerStore.MARKER))
                    .isRegularFile();
            assertThat(notes)
                    .anySatisfy(note -> assertThat(note)
                            .contains("2 layer(s), 2 unpacked now [sha256:" + TestTars.sha256(lower) + ", sha256:"
                                    + TestTars.sha256(upper) + "]"));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @DisplayName("a tampered second layer fails naming it, and leaves nothing in images/ nor half a layer in layers/")
    void tamperedSecondLayer() throws IOException {
        byte[] lower = manyFiles("usr/share/lower", 2000);
        byte[] upper = TestImages.layer(List.of("etc"), Map.of("etc/upper", "from the upper layer"));
        Path layout = TestImages.ociLayout(work.resolve("layout"), "{}", lower, upper);
        byte[] tampered = upper.clone();
        tampered[tampered.length - 2000] ^= 1; // in the zero records after the last entry: the tar stays valid
        Files.write(layout.resolve("blobs/sha256/" + TestTars.sha256(upper)), tampered);

        assertThatThrownBy(() -> cache(2).rootfsFor(ImageSource.ofDirectory(layout)))
                .isInstanceOf(ImageUnpackException.class)
                .hasMessageContaining("(layer 2 of 2 (sha256:" + TestTars.sha256(upper) + ")")
                .hasMessageContaining(
                        "does not match its digest: its content hashes to sha256:" + TestTars.sha256(tampered))
                .satisfies(e -> assertThat(e.getSuppressed())
                        .noneMatch(suppressed -> suppressed instanceof UnpackStoppedException));
        assertNothingHalfDone();
        assertThat(cacheDirectory.resolve("layers").resolve(TestTars.sha256(upper)))
                .doesNotExist();
    }

    @Test
    @DisplayName("a corrupt first layer fails naming it while the second is unpacked beside it")
    void corruptFirstLayer() throws IOException {
        byte[] lower = TestImages.layer(List.of("usr"), Map.of("usr/lower", "from the lower layer"));
        byte[] upper = manyFiles("usr/share/upper", 2000);
        Path layout = TestImages.ociLayout(work.resolve("layout"), "{}", lower, upper);
        byte[] corrupt = lower.clone();
        corrupt[100] ^= 1; // in the first header: its checksum no longer matches
        Files.write(layout.resolve("blobs/sha256/" + TestTars.sha256(lower)), corrupt);

        assertThatThrownBy(() -> cache(2).rootfsFor(ImageSource.ofDirectory(layout)))
                .isInstanceOf(ImageUnpackException.class)
                .hasMessageContaining("(layer 1 of 2 (sha256:" + TestTars.sha256(lower) + ")")
                .hasMessageContaining("does not match its digest");
        assertNothingHalfDone();
        assertThat(cacheDirectory.resolve("layers").resolve(TestTars.sha256(lower)))
                .doesNotExist();
    }

    @Test
    @DisplayName("isolated.image.maxBytes counts every layer of the image, however many are unpacked at once")
    void limitsOverAllLayers() throws IOException {
        byte[] lower = TestImages.layer(List.of(), Map.of("lower", "l".repeat(600)));
        byte[] upper = TestImages.layer(List.of(), Map.of("upper", "u".repeat(600)));
        Path layout = TestImages.ociLayout(work.resolve("layout"), "{}", lower, upper);
        ImageCache cache = new ImageCache(cacheDirectory, new SafeTarUnpacker(new UnpackLimits(1000, 100)), notes::add);

        assertThatThrownBy(() -> cache.rootfsFor(ImageSource.ofDirectory(layout)))
                .isInstanceOf(ImageUnpackException.class)
                .hasMessageContaining("holds more than 1000 bytes of file content")
                .hasMessageContaining("-D" + UnpackLimits.MAX_TOTAL_BYTES_PROPERTY + "=BYTES");
        assertNothingHalfDone();
    }

    @Test
    @DisplayName("a layer two images share, unpacked by two threads at once, is stored once and linked into both")
    void sharedLayerTwoThreads() throws Exception {
        byte[] base = manyFiles("usr/share/base", 1000);
        byte[] first = TestImages.layer(List.of("etc"), Map.of("etc/first", "1"));
        byte[] second = TestImages.layer(List.of("etc"), Map.of("etc/second", "2"));
        Path firstLayout = TestImages.ociLayout(work.resolve("first"), "{}", base, first);
        Path secondLayout = TestImages.ociLayout(work.resolve("second"), "{}", base, second);
        ImageCache cache = cache(ImageCache.parallelism());
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Path> rootfs = new ArrayList<>();
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (Path layout : List.of(firstLayout, secondLayout)) {
                results.add(pool.submit(() -> {
                    start.await();
                    return cache.rootfsFor(ImageSource.ofDirectory(layout));
                }));
            }
            start.countDown();
            for (Future<Path> result : results) {
                rootfs.add(result.get(60, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(rootfs.get(0).resolve("etc/first")).hasContent("1");
        assertThat(rootfs.get(1).resolve("etc/second")).hasContent("2");
        assertStoredOnce(base, first, second, rootfs, String.join("\n", notes));
    }

    @Test
    @DisplayName("a layer two images share, unpacked by two JVMs at once, is stored once and linked into both")
    void sharedLayerTwoJvms() throws Exception {
        byte[] base = manyFiles("usr/share/base", 3000);
        byte[] first = TestImages.layer(List.of("etc"), Map.of("etc/first", "1"));
        byte[] second = TestImages.layer(List.of("etc"), Map.of("etc/second", "2"));
        Path firstLayout = TestImages.ociLayout(work.resolve("first"), "{}", base, first);
        Path secondLayout = TestImages.ociLayout(work.resolve("second"), "{}", base, second);
        Path go = work.resolve("go");
        List<Process> workers = new ArrayList<>();
        for (Path layout : List.of(firstLayout, secondLayout)) {
            workers.add(new ProcessBuilder(
                            Path.of(System.getProperty("java.home"), "bin", "java")
                                    .toString(),
                            "-cp",
                            System.getProperty("java.class.path"),
                            Worker.class.getName(),
                            cacheDirectory.toString(),
                            layout.toString(),
                            go.toString())
                    .redirectErrorStream(true)
                    .start());
        }
        Files.createFile(go);
        StringBuilder outputs = new StringBuilder();
        List<Path> rootfs = new ArrayList<>();
        for (Process worker : workers) {
            String output = new String(worker.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(worker.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(worker.exitValue()).as(output).isZero();
            outputs.append(output);
            rootfs.add(Path.of(output.lines()
                    .filter(line -> line.startsWith("rootfs="))
                    .findFirst()
                    .orElseThrow()
                    .substring("rootfs=".length())));
        }

        assertThat(rootfs.get(0).resolve("etc/first")).hasContent("1");
        assertThat(rootfs.get(1).resolve("etc/second")).hasContent("2");
        assertStoredOnce(base, first, second, rootfs, outputs.toString());
    }

    /** A JVM that waits for a go file, then asks the cache for a layout directory (for {@link #sharedLayerTwoJvms}). */
    static final class Worker {

        public static void main(String[] args) throws Exception {
            Path go = Path.of(args[2]);
            while (Files.notExists(go)) {
                Thread.sleep(5);
            }
            Path rootfs = new ImageCache(
                            Path.of(args[0]), new SafeTarUnpacker(UnpackLimits.defaults()), System.out::println)
                    .rootfsFor(ImageSource.ofDirectory(Path.of(args[1])));
            System.out.println("rootfs=" + rootfs);
        }
    }

    /**
     * The base layer is in the store once, both images' copies of its files are the same inode, and exactly one of
     * the two unpacks says it unpacked it (the other reused it).
     */
    private void assertStoredOnce(byte[] base, byte[] first, byte[] second, List<Path> rootfs, String notes)
            throws IOException {
        Path layers = cacheDirectory.resolve("layers");
        assertThat(storedLayers())
                .containsExactlyInAnyOrder(TestTars.sha256(base), TestTars.sha256(first), TestTars.sha256(second));
        Object inode = Files.getAttribute(
                layers.resolve(TestTars.sha256(base)).resolve("tree/usr/share/base/file-0"),
                "unix:ino",
                LinkOption.NOFOLLOW_LINKS);
        for (Path image : rootfs) {
            assertThat(Files.getAttribute(
                            image.resolve("usr/share/base/file-0"), "unix:ino", LinkOption.NOFOLLOW_LINKS))
                    .isEqualTo(inode);
        }
        String baseId = "sha256:" + TestTars.sha256(base);
        assertThat(notes.lines()
                        .filter(line -> line.contains(" unpacked now ["))
                        .map(line -> line.substring(line.indexOf(" unpacked now [")))
                        .map(line -> line.substring(0, line.indexOf(']')))
                        .filter(unpacked -> unpacked.contains(baseId)))
                .as(notes)
                .hasSize(1);
    }

    /** images/ holds lock files only, layers/ complete layers and lock files only. */
    private void assertNothingHalfDone() throws IOException {
        try (Stream<Path> entries = Files.list(cacheDirectory.resolve("images"))) {
            assertThat(entries.map(path -> path.getFileName().toString()))
                    .isNotEmpty()
                    .allSatisfy(name -> assertThat(name).endsWith(".lock"));
        }
        Path layers = cacheDirectory.resolve("layers");
        try (Stream<Path> entries = Files.list(layers)) {
            assertThat(entries.map(path -> path.getFileName().toString()))
                    .allSatisfy(name -> assertThat(name.endsWith(".lock")
                                    || Files.isRegularFile(layers.resolve(name).resolve(LayerStore.MARKER)))
                            .as(name + " is a lock file or a complete layer")
                            .isTrue());
        }
    }

    private List<String> storedLayers() throws IOException {
        try (Stream<Path> entries = Files.list(cacheDirectory.resolve("layers"))) {
            return entries.filter(Files::isDirectory)
                    .map(path -> path.getFileName().toString())
                    .toList();
        }
    }

    private static List<String> unpackThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .map(Thread::getName)
                .filter(name -> name.startsWith("isolated-unpack"))
                .toList();
    }

    /** An uncompressed layer tar of {@code count} small files in {@code directory}. */
    private static byte[] manyFiles(String directory, int count) {
        Map<String, String> files = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            files.put(directory + "/file-" + i, "content " + i);
        }
        List<String> directories = new ArrayList<>();
        StringBuilder parent = new StringBuilder();
        for (String part : directory.split("/")) {
            parent.append(parent.length() == 0 ? "" : "/").append(part);
            directories.add(parent.toString());
        }
        return TestImages.layer(directories, files);
    }

    private ImageCache cache(int parallelism) {
        return new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), notes::add)
                .layerParallelism(parallelism);
    }
}
