package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * As root the helper works in a mount namespace of its own, a slave of the host's made when it starts: where the
 * host's {@code /} is not a shared mount (a container, some VMs) a file system mounted later is not in it. The child
 * JVM runs where that is so on any host ({@code unshare --mount --propagation private}) and mounts a tmpfs after its
 * helper started.
 */
@DisplayName("a file system mounted after the helper started, where / is not shared")
class MountedLaterTests {

    @Test
    @DisplayName("as a writable layer's directory: the failure says why and what to do")
    void layerDirectoryMountedLater(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = FixtureRunner.runInChildJvm(
                List.of("unshare", "--mount", "--propagation", "private"),
                List.of("-Dmounted.later.dir=" + dir),
                LaterMountCase.class);

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class LaterMountCase {
        @Test
        void layerOnALaterMount() throws Exception {
            Path dir = Path.of(System.getProperty("mounted.later.dir", ""));
            try (IsolatedEnvironment first =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) { // the helper starts
                assertThat(first.exec("true").exitCode()).isZero();
            }
            Path disk = Files.createDirectories(dir.resolve("later"));
            assertThat(new ProcessBuilder("mount", "-t", "tmpfs", "later", disk.toString())
                            .inheritIO()
                            .start()
                            .waitFor())
                    .isZero();
            assertThatThrownBy(() -> IsolatedEnvironment.builder()
                            .rootfs("busybox.tar")
                            .writableLayer(LayerStorage.DISK)
                            .configuration(key -> key.equals(IsolatedConfiguration.LAYER_DIR)
                                    ? Optional.of(disk.toString())
                                    : Optional.empty())
                            .start()
                            .close())
                    .isInstanceOf(EnvironmentSetupException.class)
                    .hasMessageContaining("stage 'upper-dir'")
                    .hasMessageContaining("No such file or directory")
                    .hasMessageContaining("(or it is on a file system mounted after the helper started, which a "
                            + "root helper does not see where the host's / is not a shared mount: mount it first, "
                            + "or run mount --make-rshared /)");
            Path source = Files.createDirectories(disk.resolve("source"));
            assertThatThrownBy(() -> IsolatedEnvironment.builder()
                            .rootfs("busybox.tar")
                            .bind(source, "/mnt/source")
                            .start()
                            .close())
                    .isInstanceOf(EnvironmentSetupException.class)
                    .hasMessageContaining("stage 'bind'")
                    .hasMessageContaining("mounted after the helper started");
        }
    }
}
