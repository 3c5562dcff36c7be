package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.image.ImageBuilder;
import dev.isolated.image.ImageException;
import dev.isolated.testimages.OciLayoutWriter;
import dev.isolated.testimages.RootfsLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("an image file rewritten during the run")
class RebuiltImageTests {

    @Test
    @DisplayName("is used as it is now: the next environment sees the new contents, not the first unpack's")
    void rewrittenTarIsResolvedAgain(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("app.tar");
        for (String version : new String[] {"1", "2"}) {
            Path built = ImageBuilder.from("busybox.tar")
                    .addText("/etc/app-version", version + "\n")
                    .build();
            Files.copy(built, image, StandardCopyOption.REPLACE_EXISTING);

            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs(image.toString()).start()) {
                assertThat(env.exec("cat", "/etc/app-version"))
                        .as("built as version " + version)
                        .stdout()
                        .isEqualTo(version + "\n");
            }
        }
    }

    @Test
    @DisplayName("an OCI layout directory written again at the same path: the next environment sees the new image")
    void rewrittenLayoutDirectoryIsResolvedAgain(@TempDir Path dir) throws Exception {
        Path layout = dir.resolve("layout");
        for (String version : new String[] {"1", "2"}) {
            Path root = Files.createDirectories(dir.resolve("root-" + version + "/etc"))
                    .getParent();
            Files.writeString(root.resolve("etc/app-version"), version + "\n");
            if (Files.exists(layout)) {
                try (var files = Files.walk(layout)) {
                    files.sorted(java.util.Comparator.reverseOrder())
                            .forEach(p -> p.toFile().delete());
                }
            }
            OciLayoutWriter writer = new OciLayoutWriter(layout);
            writer.add("app", "{}", List.of(writer.store(RootfsLayer.of(root, dir.resolve("layer-" + version)))));

            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs(layout).start()) {
                assertThat(env.readString("/etc/app-version"))
                        .as("written as version " + version)
                        .isEqualTo(version + "\n");
            }
        }
    }

    @Test
    @DisplayName("a rootfs directory that gains a manifest.json is an image from then on: one it cannot read fails")
    void directoryThatBecomesALayoutIsReadAsOne(@TempDir Path dir) throws Exception {
        Path root = Files.createDirectories(dir.resolve("root/etc")).getParent();
        Files.writeString(root.resolve("etc/app-version"), "1\n");
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(root).start()) {
            assertThat(env.readString("/etc/app-version")).isEqualTo("1\n");
        }

        Files.writeString(root.resolve("manifest.json"), "[{\"Config\": \"missing.json\", \"Layers\": []}]");

        assertThatThrownBy(() -> IsolatedEnvironment.builder().rootfs(root).start())
                .isInstanceOf(ImageException.class)
                .hasMessageStartingWith("Image directory " + root + ": ");
    }
}
