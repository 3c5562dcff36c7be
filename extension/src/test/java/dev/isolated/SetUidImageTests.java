package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.image.ImageBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("set-uid files of an image")
class SetUidImageTests {

    private static final Path SOURCE = Path.of("src/test/c/show-ids.c").toAbsolutePath();

    @Test
    @DisplayName("keep their mode inside, but running one as uid 1000 gains nothing (no_new_privs, nosuid)")
    void keptButPowerless(@TempDir Path dir) throws IOException, InterruptedException {
        Path showIds = dir.resolve("show-ids");
        Process gcc = new ProcessBuilder(
                        "gcc", "-static", "-O2", "-Wall", "-Werror", "-o", showIds.toString(), SOURCE.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(gcc.waitFor()).as("gcc %s: %s", SOURCE, output).isZero();

        // The control: on the host, set-uid root, run by uid 65534, it does get euid 0.
        Path open = Files.createTempDirectory(Path.of("/tmp"), "isolated-setuid-");
        try {
            Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path copy = Files.copy(showIds, open.resolve("show-ids"));
            Files.setAttribute(copy, "unix:mode", 04755);
            Process nobody = new ProcessBuilder(
                            "setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", copy.toString())
                    .redirectErrorStream(true)
                    .start();
            assertThat(new String(nobody.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("65534 0\n");
            assertThat(nobody.waitFor()).isZero();
        } finally {
            try (var files = Files.walk(open)) {
                for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }

        Path image = ImageBuilder.from("busybox.tar")
                .addStaticBinary(showIds, "/bin/show-ids")
                .mode("/bin/show-ids", 04755)
                .build();
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(image).start()) {
            assertThat(env.exec("stat", "-c", "%a %u %g", "/bin/show-ids"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("4755 0 0\n");
            assertThat(env.exec("ls", "-l", "/bin/show-ids"))
                    .succeeded()
                    .stdout()
                    .startsWith("-rwsr-xr-x");
            assertThat(env.exec(Command.of("/bin/show-ids").withUser(1000, 1000)))
                    .succeeded()
                    .stdout()
                    .isEqualTo("1000 1000\n");
        }
    }
}
