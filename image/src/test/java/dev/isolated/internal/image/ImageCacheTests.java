package dev.isolated.internal.image;

import static dev.isolated.internal.image.TestTars.tar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCacheTests {

    private static final byte[] IMAGE = tar().file("bin/tool", 0755, "#!/bin/sh\n")
            .symlink("bin/sh", "tool")
            .directory("proc", 0755)
            .bytes();

    @TempDir
    Path cacheDirectory;

    private final List<String> notes = new CopyOnWriteArrayList<>();

    @Test
    @DisplayName("unpacks into <cache>/images/<sha256>/rootfs with a completion marker")
    void layout() {
        Path rootfs = cache().rootfsFor(archive("image.tar", IMAGE));

        Path entry = cacheDirectory.resolve("images").resolve(TestTars.sha256(IMAGE));
        assertThat(rootfs).isEqualTo(entry.resolve("rootfs"));
        assertThat(rootfs.resolve("bin/tool")).hasContent("#!/bin/sh");
        assertThat(entry.resolve("complete")).isRegularFile();
        assertThat(cacheDirectory.resolve("images").resolve(TestTars.sha256(IMAGE) + ".lock"))
                .exists();
        assertThat(notes).singleElement().asString().startsWith("Unpacked image archive image.tar (sha256 ");
    }

    @Test
    @DisplayName("a cache directory of another user is refused, naming isolated.cache.dir; our own becomes 0700")
    void ownership() throws IOException {
        Files.setPosixFilePermissions(
                cacheDirectory, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxr-x"));
        cache().rootfsFor(archive("image.tar", IMAGE));
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(cacheDirectory)))
                .isEqualTo("rwx------");

        Path foreign = Files.createDirectory(cacheDirectory.resolve("foreign"));
        Files.setAttribute(foreign, "unix:uid", 65534);
        ImageCache theirs = new ImageCache(foreign, new SafeTarUnpacker(UnpackLimits.defaults()), notes::add);
        assertThatThrownBy(() -> theirs.rootfsFor(archive("image.tar", IMAGE)))
                .isInstanceOf(ImageSettingsException.class)
                .hasMessageContaining("The directory of the image cache, " + foreign + ", is owned by uid 65534")
                .hasMessageContaining("-Disolated.cache.dir");
    }

    @Test
    @DisplayName(
            "an archive rewritten between its digest and its unpack is refused, plain or compressed, and nothing is kept")
    void rewrittenWhileUnpacked() {
        byte[] other =
                tar().file("bin/tool", 0755, "#!/bin/sh\necho rewritten\n").bytes();
        for (boolean compressed : new boolean[] {false, true}) {
            byte[] before = compressed ? TestTars.gzip(IMAGE) : IMAGE;
            byte[] after = compressed ? TestTars.gzip(other) : other;
            AtomicInteger opens = new AtomicInteger();
            ImageSource.Archive rewritten = new ImageSource.Archive(
                    "archive rewritten.tar",
                    () -> new ByteArrayInputStream(opens.getAndIncrement() == 0 ? before : after));

            assertThatThrownBy(() -> cache().rootfsFor(rewritten))
                    .as(compressed ? "gzip" : "plain")
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessage("Image archive rewritten.tar changed while it was unpacked (sha256 "
                            + TestTars.sha256(before) + " before, " + TestTars.sha256(after)
                            + " after); do not rewrite it during tests");
            assertThat(opens).as("opened for its digest, then for its unpack").hasValue(2);
            assertThat(cacheDirectory.resolve("images").resolve(TestTars.sha256(before)))
                    .as("nothing half-unpacked is kept")
                    .doesNotExist();
        }
    }

    @Test
    @DisplayName("unpacks once: a second call returns the same directory without unpacking again")
    void unpacksOnce() throws IOException {
        Path first = cache().rootfsFor(archive("image.tar", IMAGE));
        BasicFileAttributes markerBefore = attributes(first.resolveSibling("complete"));
        Object rootfsInode = attributes(first).fileKey();

        Path second = new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), notes::add)
                .rootfsFor(archive("same bytes, other name", IMAGE));

        assertThat(second).isEqualTo(first);
        assertThat(attributes(second.resolveSibling("complete")).lastModifiedTime())
                .isEqualTo(markerBefore.lastModifiedTime());
        assertThat(attributes(second).fileKey()).isEqualTo(rootfsInode);
        assertThat(unpackCount()).isEqualTo(1);
    }

    @Test
    @DisplayName("is safe with 8 threads asking at once: one unpacks, all get the same directory")
    void concurrentThreads() throws Exception {
        ImageCache cache = cache();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return cache.rootfsFor(archive("image.tar", IMAGE));
                }));
            }
            start.countDown();
            List<Path> paths = new ArrayList<>();
            for (Future<Path> result : results) {
                paths.add(result.get(60, TimeUnit.SECONDS));
            }

            assertThat(paths).hasSize(8).containsOnly(paths.get(0));
            assertThat(paths.get(0).resolve("bin/tool")).exists();
            assertThat(unpackCount()).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @DisplayName("is safe with 3 JVMs asking at once (like Surefire forks): one unpacks, all get the same directory")
    void concurrentJvms(@TempDir Path work) throws Exception {
        TestTars image = tar();
        for (int i = 0; i < 3000; i++) {
            image.file("many/file-" + i, "content " + i);
        }
        Path tarFile = Files.write(work.resolve("many.tar"), image.bytes());
        Path go = work.resolve("go");
        List<Process> workers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            workers.add(new ProcessBuilder(
                            Path.of(System.getProperty("java.home"), "bin", "java")
                                    .toString(),
                            "-cp",
                            System.getProperty("java.class.path"),
                            Worker.class.getName(),
                            cacheDirectory.toString(),
                            tarFile.toString(),
                            go.toString())
                    .redirectErrorStream(true)
                    .start());
        }
        Files.createFile(go);
        List<String> outputs = new ArrayList<>();
        for (Process worker : workers) {
            String output = new String(worker.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(worker.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(worker.exitValue()).as(output).isZero();
            outputs.add(output);
        }

        Path expected = cacheDirectory
                .resolve("images")
                .resolve(TestTars.sha256(Files.readAllBytes(tarFile)))
                .resolve("rootfs");
        assertThat(outputs).allSatisfy(output -> assertThat(output).contains("rootfs=" + expected));
        assertThat(String.join("", outputs).lines().filter(line -> line.startsWith("Unpacked image")))
                .hasSize(1);
        assertThat(expected.resolve("many/file-2999")).hasContent("content 2999");
    }

    /** A JVM that waits for a go file, then asks the cache for an image (for {@link #concurrentJvms}). */
    static final class Worker {

        public static void main(String[] args) throws Exception {
            Path go = Path.of(args[2]);
            while (Files.notExists(go)) {
                Thread.sleep(5);
            }
            Path rootfs = new ImageCache(
                            Path.of(args[0]), new SafeTarUnpacker(UnpackLimits.defaults()), System.out::println)
                    .rootfsFor(ImageSource.ofFile(Path.of(args[1])));
            System.out.println("rootfs=" + rootfs);
        }
    }

    @Test
    @DisplayName("rebuilds an entry that has no completion marker (a crashed unpack)")
    void rebuildsStaleEntry() throws IOException {
        Path entry = cacheDirectory.resolve("images").resolve(TestTars.sha256(IMAGE));
        Files.createDirectories(entry.resolve("rootfs/leftover"));
        Files.createDirectories(entry.resolve("rootfs.tmp-123/half"));

        Path rootfs = cache().rootfsFor(archive("image.tar", IMAGE));

        assertThat(rootfs.resolve("leftover")).doesNotExist();
        assertThat(entry.resolve("rootfs.tmp-123")).doesNotExist();
        assertThat(rootfs.resolve("bin/tool")).exists();
        assertThat(unpackCount()).isEqualTo(1);
    }

    @Test
    @DisplayName("returns a directory source as it is, without copying")
    void directorySource(@TempDir Path rootfs) {
        assertThat(cache().rootfsFor(ImageSource.ofDirectory(rootfs))).isEqualTo(rootfs.toAbsolutePath());
        assertThat(cacheDirectory.resolve("images")).doesNotExist();
    }

    @Nested
    @DisplayName("leaves nothing behind when unpacking fails")
    class Failures {

        @Test
        @DisplayName("for a truncated tar, naming the entry")
        void truncated() {
            byte[] archive = tar().file("first", "1")
                    .file("second", 0644, new byte[5000])
                    .bytes();
            byte[] truncated = Arrays.copyOf(archive, 3000);

            assertThatThrownBy(() -> cache().rootfsFor(archive("truncated.tar", truncated)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("truncated.tar is truncated or corrupt in entry 'second'");
            assertOnlyLockFileLeft(truncated);
        }

        @Test
        @DisplayName("for a corrupt gzip stream, naming the entry")
        void corruptGzip() {
            byte[] corrupt = SafeTarUnpackerTests.corruptedGzip();

            assertThatThrownBy(() -> cache().rootfsFor(archive("corrupt.tar.gz", corrupt)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("corrupt.tar.gz")
                    .hasMessageContaining("entry '");
            assertOnlyLockFileLeft(corrupt);
        }

        @Test
        @DisplayName("for an unsafe entry, and every thread waiting on it fails too")
        void unsafeEntry() throws Exception {
            byte[] evil = tar().file("ok", "1").file("../escape", "x").bytes();
            ImageCache cache = cache();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Path>> results = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    results.add(pool.submit(() -> cache.rootfsFor(archive("evil.tar", evil))));
                }
                for (Future<Path> result : results) {
                    assertThatThrownBy(() -> result.get(60, TimeUnit.SECONDS))
                            .hasRootCauseInstanceOf(EntryRejectedException.class)
                            .hasMessageContaining("entry '../escape' is refused");
                }
            } finally {
                pool.shutdownNow();
            }
            assertOnlyLockFileLeft(evil);
            assertThat(cacheDirectory.resolve("escape")).doesNotExist();
        }

        private void assertOnlyLockFileLeft(byte[] archive) {
            String digest = TestTars.sha256(archive);
            assertThat(cacheDirectory.resolve("images").resolve(digest)).doesNotExist();
            assertThat(cacheDirectory.resolve("images"))
                    .isDirectoryContaining(p -> p.getFileName().toString().equals(digest + ".lock"));
            try (Stream<Path> files = Files.list(cacheDirectory.resolve("images"))) {
                assertThat(files.toList()).hasSize(1);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Nested
    @DisplayName("finds its directory")
    class Location {

        @Test
        @DisplayName("in the system property first, then the environment variable, then XDG_CACHE_HOME, then HOME")
        void precedence() {
            Map<String, String> all = Map.of(
                    CacheDirectory.PROPERTY,
                    "/from/property",
                    CacheDirectory.ENVIRONMENT_VARIABLE,
                    "/from/env",
                    "XDG_CACHE_HOME",
                    "/xdg",
                    "HOME",
                    "/home/me",
                    "user.home",
                    "/user/home");

            assertThat(CacheDirectory.resolve(all::get, all::get)).isEqualTo(Path.of("/from/property"));
            assertThat(CacheDirectory.resolve(k -> null, all::get)).isEqualTo(Path.of("/from/env"));
            assertThat(CacheDirectory.resolve(
                            k -> null, k -> k.equals("XDG_CACHE_HOME") || k.equals("HOME") ? all.get(k) : null))
                    .isEqualTo(Path.of("/xdg/isolated"));
            assertThat(CacheDirectory.resolve(k -> null, k -> k.equals("HOME") ? all.get(k) : null))
                    .isEqualTo(Path.of("/home/me/.cache/isolated"));
            assertThat(CacheDirectory.resolve(k -> k.equals("user.home") ? all.get(k) : null, k -> null))
                    .isEqualTo(Path.of("/user/home/.cache/isolated"));
        }

        @Test
        @DisplayName("ignoring a relative XDG_CACHE_HOME, as the XDG spec asks")
        void relativeXdgIgnored() {
            Map<String, String> env = Map.of("XDG_CACHE_HOME", "relative", "HOME", "/home/me");

            assertThat(CacheDirectory.resolve(k -> null, env::get)).isEqualTo(Path.of("/home/me/.cache/isolated"));
        }
    }

    private ImageCache cache() {
        return new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), notes::add);
    }

    private long unpackCount() {
        return notes.stream().filter(note -> note.startsWith("Unpacked image")).count();
    }

    static ImageSource.Archive archive(String name, byte[] bytes) {
        return new ImageSource.Archive("archive " + name, () -> new ByteArrayInputStream(bytes));
    }

    private static BasicFileAttributes attributes(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class);
    }
}
