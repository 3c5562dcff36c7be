package dev.isolated.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnpackProgressTests {

    private static final long SECOND = 1_000_000_000L;
    private static final int MIB = 1024 * 1024;

    private final AtomicLong now = new AtomicLong(5 * SECOND);
    private final List<String> reports = new ArrayList<>();
    private final UnpackProgress progress = new UnpackProgress("app.tar", now::get, reports::add);

    @Test
    @DisplayName(
            "nothing is reported during the first second, then about once a second, the archive and then its layers")
    void reports() {
        progress.archive(10L * MIB);
        progress.add(MIB);
        now.addAndGet(SECOND / 2);
        progress.add(MIB);
        assertThat(reports).as("within the first second").isEmpty();

        now.addAndGet(SECOND / 2);
        progress.add(MIB);
        now.addAndGet(SECOND / 2);
        progress.add(MIB);
        assertThat(reports).containsExactly("Unpacking app.tar: 3.0 of 10.0 MiB of the archive read");

        progress.layers(3, 6L * MIB);
        now.addAndGet(SECOND);
        progress.add(2L * MIB);
        progress.layerDone();
        now.addAndGet(SECOND);
        progress.layerDone();
        assertThat(reports)
                .containsExactly(
                        "Unpacking app.tar: 3.0 of 10.0 MiB of the archive read",
                        "Unpacking app.tar: 2.0 of 6.0 MiB, 0 of 3 layers done",
                        "Unpacking app.tar: 2.0 of 6.0 MiB, 2 of 3 layers done");
    }

    @Test
    @DisplayName("a retry after a layer was pruned mid-unpack counts again from none, never more layers than the image"
            + " has")
    void retryAfterPrune(@TempDir Path cacheDirectory, @TempDir Path work) throws IOException {
        byte[] lower = TestImages.layer(List.of("usr"), Map.of("usr/lower", "from the lower layer"));
        byte[] upper = TestImages.layer(List.of("etc"), Map.of("etc/upper", "from the upper layer"));
        Path layout = TestImages.ociLayout(work.resolve("layout"), "{}", lower, upper);
        Path storedLower = cacheDirectory.resolve("layers").resolve(TestTars.sha256(lower));
        List<String> logged = new CopyOnWriteArrayList<>();
        AtomicBoolean pruned = new AtomicBoolean();
        AtomicLong clock = new AtomicLong();
        ImageCache cache = new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), note -> {})
                .layerParallelism(1)
                .unpackProgress(image -> new UnpackProgress(
                        image,
                        () -> clock.addAndGet(SECOND), // a second between any two events: each one is reported
                        line -> {
                            logged.add(line);
                            // Both layers are stored: another JVM's prune removes the lower one before the image
                            // holds them, so this unpack stores it again.
                            if (line.endsWith(", 2 of 2 layers done") && pruned.compareAndSet(false, true)) {
                                try {
                                    FileTrees.deleteRecursively(storedLower);
                                } catch (IOException e) {
                                    throw new UncheckedIOException(e);
                                }
                            }
                        }));

        Path rootfs = cache.rootfsFor(ImageSource.ofDirectory(layout));

        assertThat(pruned).as("the lower layer was pruned mid-unpack").isTrue();
        assertThat(rootfs.resolve("usr/lower")).hasContent("from the lower layer");
        assertThat(storedLower.resolve(LayerStore.MARKER)).as("stored again").isRegularFile();
        Pattern layersDone = Pattern.compile(".*, (\\d+) of (\\d+) layers done");
        List<Integer> counts = new ArrayList<>();
        for (String line : logged) {
            Matcher m = layersDone.matcher(line);
            if (m.matches()) {
                assertThat(m.group(2)).as(line).isEqualTo("2");
                counts.add(Integer.parseInt(m.group(1)));
            }
        }
        assertThat(counts)
                .as(String.join("\n", logged))
                .isNotEmpty()
                .allSatisfy(done -> assertThat(done).isLessThanOrEqualTo(2))
                .endsWith(2);
    }
}
