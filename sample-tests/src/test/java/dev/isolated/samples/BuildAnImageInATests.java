package dev.isolated.samples;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.IsolatedEnvironment;
import dev.isolated.image.ImageBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** FROM scratch without Docker: build a tiny image in the test itself, then run it. */
class BuildAnImageInATests {

    @Test
    void fromScratchWithOneStaticBinaryAndAFile() throws Exception {
        Path image = ImageBuilder.scratch()
                .addStaticBinary(busybox(), "/bin/busybox")
                .symlink("/bin/sh", "busybox")
                .symlink("/bin/cat", "busybox")
                .addText("/etc/greeting", "Hello, World\n")
                .build();

        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(image).start()) {
            assertThat(env.exec("cat", "/etc/greeting")).succeeded().stdout().isEqualTo("Hello, World\n");
            try (Stream<Path> root = Files.list(Paths.get("/proc", Long.toString(env.initHostPid()), "root"))) {
                assertThat(root.map(p -> p.getFileName().toString()).collect(Collectors.toSet()))
                        .containsExactlyInAnyOrder("bin", "etc", "proc", "dev", "tmp");
            }
        }
    }

    private static Path busybox() {
        Path bin = Paths.get("/bin/busybox");
        return Files.exists(bin) ? bin : Paths.get("/usr/bin/busybox");
    }
}
