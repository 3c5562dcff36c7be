package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;

import dev.isolated.image.ImageBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
}
