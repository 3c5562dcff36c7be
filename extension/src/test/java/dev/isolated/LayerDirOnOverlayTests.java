package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README: {@code isolated.layer.dir} must not be on overlayfs, where a deleted file's whiteout cannot be stored;
 * {@code freeze()} then fails naming the directory, and a disk layer there fails to mount (stage {@code overlay}).
 * The child JVM mounts an overlayfs on the directory in a mount namespace of its own, before its helper starts.
 */
@DisplayName("isolated.layer.dir on overlayfs (say, a container's root)")
class LayerDirOnOverlayTests {

    @Test
    @DisplayName("freeze() fails naming the directory and overlayfs, a disk layer fails at stage overlay; nothing is "
            + "left there")
    void refused(@TempDir Path dir) throws IOException, InterruptedException {
        String mountFirst = "cd \"$0\" && mkdir lower upper work merged && mount -t overlay isolated-overlay-dir "
                + "-o lowerdir=lower,upperdir=upper,workdir=work merged && exec \"$@\"";
        List<String> lines = FixtureRunner.runInChildJvm(
                List.of("unshare", "--mount", "--propagation", "private", "sh", "-c", mountFirst, dir.toString()),
                List.of("-Doverlay.layer.dir=" + dir.resolve("merged")),
                OnOverlayCase.class);

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class OnOverlayCase {
        @Test
        void freezeAndDiskLayer() throws IOException {
            Path layers = Path.of(System.getProperty("overlay.layer.dir", "")).resolve("layers");
            Optional<String> configured = Optional.of(layers.toString());
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .configuration(key -> key.equals(IsolatedConfiguration.LAYER_DIR) ? configured : Optional.empty())
                    .start()) {
                env.writeString("/seed", "x\n");
                assertThatThrownBy(env::freeze)
                        .isInstanceOf(IsolatedException.class)
                        .hasMessageStartingWith("freeze(): copying the writable layer to " + layers + "/jvm-")
                        .hasMessageContaining("the target is on overlayfs, where a whiteout (a deleted file) would "
                                + "hide itself: use a directory on another filesystem");
            }
            assertThatThrownBy(() -> IsolatedEnvironment.builder()
                            .rootfs("busybox.tar")
                            .writableLayer(LayerStorage.DISK)
                            .configuration(
                                    key -> key.equals(IsolatedConfiguration.LAYER_DIR) ? configured : Optional.empty())
                            .start())
                    .isInstanceOfSatisfying(
                            EnvironmentSetupException.class,
                            e -> assertThat(e.stage()).isEqualTo("overlay"));
            try (Stream<Path> paths = Files.walk(layers)) {
                assertThat(paths.map(path -> path.getFileName().toString()))
                        .as("what was left in " + layers)
                        .noneMatch(name -> name.startsWith("frozen-") || name.startsWith("upper-"));
            }
        }
    }
}
