package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.image.ImageException;
import dev.isolated.internal.image.TestImages;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image cache ({@code isolated.cache.dir}) on a full disk: the child JVM mounts a 1 MiB tmpfs on it in a mount
 * namespace of its own and unpacks busybox.tar (2 MiB) there; then it grows the tmpfs and unpacks it again.
 */
@DisplayName("an image cache whose disk is full")
class FullImageCacheTests {

    @Test
    @DisplayName("unpacking fails naming the image, the entry, ENOSPC and the fix; nothing half-unpacked counts as "
            + "cached, and with room the next unpack works")
    void unpackIntoAFullCache(@TempDir Path dir) throws IOException, InterruptedException {
        Path small = Files.createDirectory(dir.resolve("small"));
        Path tar = dir.resolve("busybox.tar");
        try (InputStream in = FullImageCacheTests.class.getResourceAsStream("/busybox.tar")) {
            Files.copy(in, tar);
        }
        Path layout = TestImages.ociLayout(Files.createDirectory(dir.resolve("layout")), "{}", Files.readAllBytes(tar));
        String mountFirst = "mount -t tmpfs -o size=1m isolated-full-cache \"$0\" && exec \"$@\"";
        List<String> lines = FixtureRunner.runInChildJvm(
                List.of("unshare", "--mount", "--propagation", "private", "sh", "-c", mountFirst, small.toString()),
                List.of(
                        "-D" + IsolatedConfiguration.CACHE_DIR + "=" + small.resolve("cache"),
                        "-Dfull.cache.tmpfs=" + small,
                        "-Dfull.cache.tar=" + tar,
                        "-Dfull.cache.layout=" + layout),
                FullCacheCase.class);

        assertThat(lines).containsExactly("SUCCESSFUL\t");
        try (Stream<Path> left = Files.list(small)) {
            assertThat(left).as("the tmpfs was the child's alone").isEmpty();
        }
    }

    /**
     * Unpacks {@code -Dfull.cache.tar} (a rootfs tar) and {@code -Dfull.cache.layout} (an OCI layout of it, whose layer
     * goes through the layer store) into the cache on the 1 MiB tmpfs {@code -Dfull.cache.tmpfs}, then with room.
     */
    static class FullCacheCase {
        @Test
        void unpackTwice() throws Exception {
            Path tmpfs = Path.of(System.getProperty("full.cache.tmpfs", ""));
            Path cache = tmpfs.resolve("cache");
            Path tar = Path.of(System.getProperty("full.cache.tar", ""));
            Path layout = Path.of(System.getProperty("full.cache.layout", ""));

            assertThatThrownBy(() -> IsolatedEnvironment.builder().rootfs(tar).start())
                    .isInstanceOf(ImageException.class)
                    .hasMessage("Image file " + tar + ": entry 'bin/busybox' cannot be written into the image cache "
                            + cache + ": java.io.IOException: No space left on device. Make room there or make the "
                            + "directory writable, or choose another one with -Disolated.cache.dir=DIR or "
                            + "ISOLATED_CACHE_DIR=DIR");
            try (Stream<Path> entries = Files.list(cache.resolve("images"))) {
                assertThat(entries.filter(Files::isDirectory))
                        .as("the images of the cache after the failed unpack")
                        .isEmpty();
            }
            assertThat(Files.getFileStore(tmpfs).getUsableSpace())
                    .as("free bytes of the 1 MiB tmpfs once what was unpacked is deleted")
                    .isGreaterThan(1024 * 1024 - 64 * 1024);

            assertThatThrownBy(
                            () -> IsolatedEnvironment.builder().rootfs(layout).start())
                    .isInstanceOf(ImageException.class)
                    .hasMessageStartingWith("Image directory " + layout + ", layer 1 of 1 (sha256:")
                    .hasMessageEndingWith("): entry 'bin/busybox' cannot be written into the image cache " + cache
                            + ": java.io.IOException: No space left on device. Make room there or make the "
                            + "directory writable, or choose another one with -Disolated.cache.dir=DIR or "
                            + "ISOLATED_CACHE_DIR=DIR");
            for (String store : List.of("images", "layers")) {
                try (Stream<Path> entries = Files.list(cache.resolve(store))) {
                    assertThat(entries.filter(Files::isDirectory))
                            .as("the " + store + " of the cache after the failed unpack of the layout")
                            .isEmpty();
                }
            }

            Process grow = new ProcessBuilder("mount", "-o", "remount,size=16m", tmpfs.toString())
                    .inheritIO()
                    .start();
            assertThat(grow.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(grow.exitValue()).isZero();
            for (Path image : List.of(tar, layout)) {
                try (IsolatedEnvironment env =
                        IsolatedEnvironment.builder().rootfs(image).start()) {
                    assertThat(env.exec("busybox", "echo", "unpacked"))
                            .succeeded()
                            .stdout()
                            .isEqualTo("unpacked\n");
                }
            }
        }
    }
}
