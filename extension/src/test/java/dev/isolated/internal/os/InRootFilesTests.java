package dev.isolated.internal.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The same resolution with openat2(RESOLVE_IN_ROOT) and with the walk that stands in for it where it is missing. */
@DisplayName("InRootFiles: symlinks resolve inside the root, with openat2 or with the component walk")
class InRootFilesTests {
    @TempDir
    Path dir;

    private Path root;

    private InRootFiles files(boolean walk) throws IOException, InterruptedException {
        root = Files.createDirectories(dir.resolve("root"));
        Files.createDirectories(root.resolve("etc"));
        Files.createDirectories(root.resolve("d/e"));
        Files.writeString(root.resolve("etc/passwd"), "inside\n");
        Files.createSymbolicLink(root.resolve("escape"), Paths.get("/"));
        Files.createSymbolicLink(root.resolve("up"), Paths.get("../../../../../.."));
        Files.createSymbolicLink(root.resolve("abs"), Paths.get("/etc/passwd"));
        Files.createSymbolicLink(root.resolve("d/e/rel"), Paths.get("../../etc/passwd"));
        Files.createSymbolicLink(root.resolve("loop"), Paths.get("loop"));
        Files.createSymbolicLink(root.resolve("dangling"), Paths.get("/etc/made-through-a-link"));
        Files.createSymbolicLink(root.resolve("self-fd"), Paths.get("/proc/self/fd/0"));
        assertThat(new ProcessBuilder("mkfifo", root.resolve("pipe").toString())
                        .start()
                        .waitFor())
                .isZero();
        return InRootFiles.ofDirectory(root, walk);
    }

    @ParameterizedTest(name = "walk = {0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("reads stay inside the root")
    void staysInside(boolean walk) throws Exception {
        try (InRootFiles f = files(walk)) {
            for (String path : new String[] {
                "/etc/passwd",
                "/escape/etc/passwd",
                "/up/etc/passwd",
                "/abs",
                "/d/e/rel",
                "/escape/../../etc/passwd",
                "/d/../../etc/./passwd",
                "/up/escape/abs"
            }) {
                assertThat(new String(f.read(path), StandardCharsets.UTF_8))
                        .as(path)
                        .isEqualTo("inside\n");
            }
            assertThatThrownBy(() -> f.read("/loop")).hasMessageContaining("(errno 40)");
            assertThatThrownBy(() -> f.read("/pipe")).hasMessageContaining("is a FIFO, not a regular file");
            assertThatThrownBy(() -> f.read("/self-fd")).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> f.read("/escape/nothing")).isInstanceOf(NoSuchFileException.class);
            assertThatThrownBy(() -> f.read("/etc/passwd/x")).hasMessageContaining("(errno 20)");

            assertThat(f.exists("/escape")).isTrue();
            assertThat(f.exists("/dangling")).isTrue();
            assertThat(f.exists("/up/nothing")).isFalse();

            f.copyOut("/escape", dir.resolve("escape-link"));
            assertThat(Files.readSymbolicLink(dir.resolve("escape-link"))).isEqualTo(Paths.get("/"));
            f.copyOut("/up/d", dir.resolve("d"));
            assertThat(Files.readSymbolicLink(dir.resolve("d/e/rel"))).isEqualTo(Paths.get("../../etc/passwd"));
        }
    }
}
