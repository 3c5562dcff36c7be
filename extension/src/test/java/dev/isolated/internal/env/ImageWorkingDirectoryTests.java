package dev.isolated.internal.env;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.image.ImageConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When creating an environment looks inside it for the image's {@code WorkingDir}: only when the host does not find
 * it in the unpacked image (or the topmost frozen layer), so an image that holds it costs no helper request.
 */
@DisplayName("The image's WorkingDir: looked for on the host first")
class ImageWorkingDirectoryTests {
    private static final ImageConfig IMAGE = new ImageConfig(List.of(), "/srv/app", "", List.of(), List.of());

    @TempDir
    Path dir;

    private Path rootfs;

    @BeforeEach
    void rootfs() throws Exception {
        rootfs = Files.createDirectories(dir.resolve("rootfs"));
    }

    private boolean mayBeMissing(EnvironmentSpec.Builder builder, List<Path> frozen) {
        LayerSpec layers = new LayerSpec(false, "", dir, "-Disolated.layer.dir", frozen);
        return ImageWorkingDirectory.mayBeMissing(builder.build(rootfs, IMAGE), layers);
    }

    @Test
    @DisplayName("a WorkingDir the unpacked image holds (a directory, through directories) is not looked for inside")
    void presentOnTheHost() throws Exception {
        Files.createDirectories(rootfs.resolve("srv/app"));
        assertThat(mayBeMissing(EnvironmentSpec.builder(), List.of())).isFalse();
        assertThat(ImageWorkingDirectory.mayBeMissing(EnvironmentSpec.builder().build(rootfs, IMAGE), null))
                .isFalse();
    }

    @Test
    @DisplayName("missing, a file, or reached through a symlink on the host: the environment is asked")
    void askedInside() throws Exception {
        assertThat(mayBeMissing(EnvironmentSpec.builder(), List.of())).isTrue();
        Files.createDirectories(rootfs.resolve("srv"));
        Files.writeString(rootfs.resolve("srv/app"), "");
        assertThat(mayBeMissing(EnvironmentSpec.builder(), List.of())).isTrue();
        Files.delete(rootfs.resolve("srv/app"));
        Files.delete(rootfs.resolve("srv"));
        Files.createDirectories(rootfs.resolve("opt/app"));
        Files.createSymbolicLink(rootfs.resolve("srv"), Path.of("opt"));
        assertThat(mayBeMissing(EnvironmentSpec.builder(), List.of()))
                .as("a symlink is resolved inside the environment, not on the host")
                .isTrue();
    }

    @Test
    @DisplayName("on a mount of the environment (/tmp, a tmpfs, a bind) it is looked for inside")
    void onAMount() throws Exception {
        Files.createDirectories(rootfs.resolve("srv/app"));
        assertThat(mayBeMissing(
                        EnvironmentSpec.builder().mount(new ExtraMount(ExtraMount.Kind.TMPFS, "", "/srv", false, 0)),
                        List.of()))
                .isTrue();
        assertThat(mayBeMissing(
                        EnvironmentSpec.builder().mount(new ExtraMount(ExtraMount.Kind.TMPFS, "", "/sr", false, 0)),
                        List.of()))
                .as("/sr is not a parent of /srv/app")
                .isFalse();
        ImageConfig inTmp = new ImageConfig(List.of(), "/tmp/app", "", List.of(), List.of());
        Files.createDirectories(rootfs.resolve("tmp/app"));
        assertThat(ImageWorkingDirectory.mayBeMissing(EnvironmentSpec.builder().build(rootfs, inTmp), null))
                .isTrue();
    }

    @Test
    @DisplayName("with frozen layers the topmost one decides: holding it, nothing is asked; else the environment is")
    void frozenLayers() throws Exception {
        Path top = Files.createDirectories(dir.resolve("top"));
        Path below = Files.createDirectories(dir.resolve("below"));
        Files.createDirectories(rootfs.resolve("srv/app"));
        assertThat(mayBeMissing(EnvironmentSpec.builder(), List.of(top, below)))
                .as("a whiteout in a frozen layer may have removed it")
                .isTrue();
        Files.createDirectories(top.resolve("srv/app"));
        assertThat(mayBeMissing(EnvironmentSpec.builder(), List.of(top, below))).isFalse();
    }

    @Test
    @DisplayName("a working directory given to the environment, a plain rootfs or a read-only rootfs: nothing is made")
    void notTheImages() {
        assertThat(mayBeMissing(EnvironmentSpec.builder().workingDirectory("/srv/app"), List.of()))
                .isFalse();
        assertThat(mayBeMissing(EnvironmentSpec.builder().readOnlyRootfs(true), List.of()))
                .isFalse();
        assertThat(ImageWorkingDirectory.mayBeMissing(EnvironmentSpec.builder().build(rootfs, ImageConfig.EMPTY), null))
                .isFalse();
    }
}
