package dev.isolated.testimages;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Debian images' layers are written once and reused while their bytes are what was recorded. */
class LayerCacheTests {

    @TempDir
    Path dir;

    @Test
    void aKeptLayerIsReusedAndALayerWhoseBytesChangedIsWrittenAgain() throws Exception {
        Path rootfs = Files.createDirectories(dir.resolve("rootfs/etc"));
        Files.writeString(rootfs.resolve("motd"), "hello\n");
        LayerCache cache = new LayerCache(dir.resolve("kept"));
        AtomicInteger writes = new AtomicInteger();
        LayerCache.LayerWriter writer = file -> {
            writes.incrementAndGet();
            return RootfsLayer.of(dir.resolve("rootfs"), file);
        };

        RootfsLayer.Written first = cache.get("base", dir.resolve("first.tar.gz"), writer);
        RootfsLayer.Written second = cache.get("base", dir.resolve("second.tar.gz"), writer);

        assertThat(writes).hasValue(1);
        assertThat(second)
                .isEqualTo(new RootfsLayer.Written(
                        dir.resolve("second.tar.gz"),
                        first.digest(),
                        first.size(),
                        first.diffId(),
                        first.entries(),
                        first.whiteouts()));
        assertThat(Files.mismatch(first.file(), second.file())).isEqualTo(-1L);
        try (var kept = Files.list(dir.resolve("kept"))) {
            assertThat(kept.map(path -> path.getFileName().toString()))
                    .containsExactlyInAnyOrder("base.tar.gz", "base.properties");
        }

        Files.delete(second.file()); // a hard link to the kept file: rewrite the kept file itself
        Files.write(dir.resolve("kept/base.tar.gz"), new byte[] {1, 2, 3});
        RootfsLayer.Written third = cache.get("base", dir.resolve("third.tar.gz"), writer);

        assertThat(writes).hasValue(2);
        assertThat(third.digest()).isEqualTo(first.digest());
        assertThat(Files.size(dir.resolve("kept/base.tar.gz"))).isEqualTo(first.size());
    }
}
