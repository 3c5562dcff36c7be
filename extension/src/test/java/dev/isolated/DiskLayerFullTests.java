package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
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
 * A disk layer's size is the free space of its file system (README, the writable layer's table). The child JVM
 * mounts a 1 MiB tmpfs on {@code isolated.layer.dir} in a mount namespace of its own, before its helper starts (which
 * then sees it, as a root helper sees what was mounted before it), and fills the layer from inside.
 */
@DisplayName("a disk layer whose file system is full")
class DiskLayerFullTests {

    @Test
    @DisplayName("writes inside fail with ENOSPC; the environment goes on working, closes, and its layer is removed")
    void fullDiskLayer(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = runOnAFullDirectory(dir, FullLayerCase.class);

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left).as("the tmpfs was the child's alone").isEmpty();
        }
    }

    @Test
    @DisplayName("freeze() into a full isolated.layer.dir fails naming the copy and ENOSPC, and leaves no half copy")
    void freezeIntoAFullDirectory(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = runOnAFullDirectory(dir, FullFreezeCase.class);

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    /** Runs {@code fixture} in a child JVM with a 1 MiB tmpfs mounted on {@code dir}, its {@code full.layer.dir}. */
    private static List<String> runOnAFullDirectory(Path dir, Class<?> fixture)
            throws IOException, InterruptedException {
        String mountFirst = "mount -t tmpfs -o size=1m isolated-full-layer \"$0\" && exec \"$@\"";
        return FixtureRunner.runInChildJvm(
                List.of("unshare", "--mount", "--propagation", "private", "sh", "-c", mountFirst, dir.toString()),
                List.of("-Dfull.layer.dir=" + dir),
                fixture);
    }

    static class FullFreezeCase {
        @Test
        void freezeTooMuch() throws IOException {
            Path disk = Path.of(System.getProperty("full.layer.dir", ""));
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .configuration(key -> key.equals(IsolatedConfiguration.LAYER_DIR)
                            ? Optional.of(disk.toString())
                            : Optional.empty())
                    .start()) {
                assertThat(env.exec("dd", "if=/dev/zero", "of=/big", "bs=64k", "count=64")) // 4 MiB
                        .succeeded();
                assertThatThrownBy(env::freeze)
                        .isInstanceOf(IsolatedException.class)
                        .hasMessageStartingWith("freeze(): copying the writable layer to " + disk + "/jvm-")
                        .hasMessageContaining("/frozen-1 failed (exit 125): isolated-helper: copy-layer: copy ")
                        .hasMessageContaining("No space left on device");
                assertThat(env.exec("cat", "/etc/hostname").exitCode())
                        .as("the environment still works")
                        .isZero();
            }
            try (Stream<Path> paths = Files.walk(disk)) {
                assertThat(paths.map(path -> path.getFileName().toString()))
                        .as("what the failed freeze left in " + disk)
                        .noneMatch(name -> name.startsWith("frozen-"));
            }
        }
    }

    static class FullLayerCase {
        @Test
        void fillTheLayer() throws IOException {
            Path disk = Path.of(System.getProperty("full.layer.dir", ""));
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .writableLayer(LayerStorage.DISK)
                    .configuration(key -> key.equals(IsolatedConfiguration.LAYER_DIR)
                            ? Optional.of(disk.toString())
                            : Optional.empty())
                    .start()) {
                ExecResult fill = env.exec("dd", "if=/dev/zero", "of=/big", "bs=64k", "count=64"); // 4 MiB
                assertThat(fill.exitCode()).as("dd into a full layer: %s", fill).isNotZero();
                assertThat(fill.stderr()).contains("No space left on device");
                assertThat(env.exec("df", "-k", "/").stdout()).as("df / inside").contains("1024");

                assertThat(env.exec("rm", "/big").exitCode()).isZero();
                assertThat(env.exec("sh", "-c", "echo still > /after && cat /after")
                                .stdout())
                        .isEqualTo("still\n");
            }
            try (Stream<Path> paths = Files.walk(disk)) {
                assertThat(paths.map(path -> path.getFileName().toString()))
                        .as("what the closed environment left in " + disk)
                        .noneMatch(name -> name.startsWith("upper-"));
            }
        }
    }
}
