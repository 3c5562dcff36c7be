package dev.isolated.internal.image;

import static dev.isolated.internal.image.TestTars.tar;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCachePruneTests {

    @TempDir
    Path cacheDirectory;

    @AfterEach
    void forget() {
        ImageCache.forgetHandedOut();
    }

    @Test
    @DisplayName("ImageBuilder.build()'s tars in built/ are neither counted nor removed; the images unpacked from "
            + "them are")
    void builtTarsStay() throws IOException {
        Path first = entryOf(cache().rootfsFor(archive("first", 1000)));
        Path second = entryOf(cache().rootfsFor(archive("second", 1000)));
        Path built = Files.write(
                Files.createDirectories(cacheDirectory.resolve("built")).resolve("ab".repeat(32) + ".tar"),
                new byte[100_000]);
        ImageCache.forgetHandedOut();

        assertThat(cache().prune(10_000, Duration.ofDays(1)))
                .as("built/ is not counted")
                .isEmpty();
        assertThat(cache().prune(0, Duration.ofDays(1))).containsExactlyInAnyOrder(first, second);
        assertThat(built).hasSize(100_000);
    }

    @Test
    @DisplayName("prune removes entries unused for longer than the age, and touches last-used on every use")
    void byAge() throws IOException {
        Path old = entryOf(cache().rootfsFor(archive("old", 100)));
        Path recent = entryOf(cache().rootfsFor(archive("recent", 100)));
        Files.setLastModifiedTime(
                old.resolve("last-used"), FileTime.from(Instant.now().minus(Duration.ofDays(10))));
        ImageCache.forgetHandedOut();

        assertThat(cache().prune(Long.MAX_VALUE, Duration.ofDays(7))).containsExactly(old);

        assertThat(old).doesNotExist();
        assertThat(recent.resolve("rootfs/file")).exists();
        assertThat(old.resolveSibling(old.getFileName() + ".lock")).exists(); // lock files are never deleted
    }

    @Test
    @DisplayName("prune removes least recently used entries until the rest fit the size")
    void bySize() throws IOException {
        Path first = entryOf(cache().rootfsFor(archive("first", 1000)));
        Path second = entryOf(cache().rootfsFor(archive("second", 1000)));
        Path third = entryOf(cache().rootfsFor(archive("third", 1000)));
        Instant now = Instant.now();
        Files.setLastModifiedTime(first.resolve("last-used"), FileTime.from(now.minusSeconds(30)));
        Files.setLastModifiedTime(second.resolve("last-used"), FileTime.from(now.minusSeconds(20)));
        Files.setLastModifiedTime(third.resolve("last-used"), FileTime.from(now.minusSeconds(10)));
        ImageCache.forgetHandedOut();

        assertThat(cache().prune(1500, Duration.ofDays(1))).containsExactly(first, second);
        assertThat(third).isDirectory();
    }

    @Test
    @DisplayName("prune keeps entries this JVM handed out, and entries whose lock is held")
    void keepsUsedAndLocked() throws IOException {
        Path handedOut = entryOf(cache().rootfsFor(archive("used", 10)));
        assertThat(cache().prune(0, Duration.ZERO)).isEmpty();
        assertThat(handedOut).isDirectory();

        ImageCache.forgetHandedOut();
        Path lockFile = handedOut.resolveSibling(handedOut.getFileName() + ".lock");
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            channel.lock(); // released when the channel closes
            assertThat(cache().prune(0, Duration.ZERO)).isEmpty();
        }
        assertThat(cache().prune(0, Duration.ZERO)).containsExactly(handedOut);
    }

    @Test
    @DisplayName("the digest of a file is remembered by identity, across caches and runs, and a change is seen")
    void digestIndex() throws IOException {
        Path file = cacheDirectory.resolve("image.tar");
        Files.write(file, tar().file("file", "one").bytes());
        AtomicInteger opens = new AtomicInteger();
        ImageSource.Archive archive = new ImageSource.Archive(
                "file " + file,
                () -> {
                    opens.incrementAndGet();
                    return Files.newInputStream(file);
                },
                file,
                null);

        Path first = cache().rootfsFor(archive);
        int opensForFirstUnpack = opens.get();
        ArchiveDigests.forgetInMemory(); // as in a new JVM: only the index file remembers
        Path again = cache().rootfsFor(archive);

        assertThat(again).isEqualTo(first);
        assertThat(opens.get()).as("archive opened again").isEqualTo(opensForFirstUnpack);
        String digest = TestTars.sha256(Files.readAllBytes(file));
        try (Stream<Path> index = Files.list(cacheDirectory.resolve("image-digests"))) {
            assertThat(index.map(ImageCachePruneTests::contentOf))
                    .anySatisfy(lines -> assertThat(lines).contains(digest));
        }

        Files.write(file, tar().file("file", "two").bytes()); // same size, new content and ctime
        assertThat(cache().rootfsFor(archive).resolve("file")).hasContent("two");
    }

    @Test
    @DisplayName(
            "prune removes the layers only removed images used, keeps shared ones, and removes an entry a dead JVM left incomplete")
    void layersAndStaleEntries() throws IOException {
        byte[] base = tar().directory("etc", 0755)
                .file("etc/base", 0644, new byte[1000])
                .bytes();
        byte[] oldTop = tar().file("old", 0644, new byte[1000]).bytes();
        byte[] newTop = tar().file("new", 0644, new byte[1000]).bytes();
        Path old = entryOf(
                cache().rootfsFor(LayeredImageTests.archive("old.tar", TestImages.dockerSave("{}", base, oldTop))));
        Path kept = entryOf(
                cache().rootfsFor(LayeredImageTests.archive("new.tar", TestImages.dockerSave("{}", base, newTop))));
        Files.setLastModifiedTime(
                old.resolve("last-used"), FileTime.from(Instant.now().minus(Duration.ofDays(10))));
        Path stale = Files.createDirectories(
                        cacheDirectory.resolve("images").resolve("a".repeat(64)).resolve("rootfs.tmp-1"))
                .getParent();
        ImageCache.forgetHandedOut();

        assertThat(cache().prune(Long.MAX_VALUE, Duration.ofDays(7))).containsExactly(old);

        assertThat(stale).doesNotExist();
        try (var layers = Files.list(cacheDirectory.resolve("layers"))) {
            assertThat(layers.filter(Files::isDirectory).map(p -> "sha256:" + p.getFileName()))
                    .containsExactlyInAnyOrder("sha256:" + TestTars.sha256(base), "sha256:" + TestTars.sha256(newTop));
        }
        assertThat(kept.resolve("rootfs/etc/base")).isRegularFile();
        assertThat(kept.resolve("rootfs/new")).isRegularFile();
    }

    private ImageCache cache() {
        return new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), note -> {});
    }

    private static ImageSource.Archive archive(String name, int size) {
        return LayeredImageTests.archive(
                name, tar().file("file", 0644, new byte[size]).file(name, "x").bytes());
    }

    private static Path entryOf(Path rootfs) {
        return rootfs.getParent();
    }

    private static String contentOf(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
