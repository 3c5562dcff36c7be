package dev.isolated.internal.helper;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.IsolatedConfiguration;
import dev.isolated.IsolatedException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("a helper that does not start leaves no state directory behind")
class SharedHelperStartFailureTests {

    @Test
    @DisplayName(
            "a helper that exits at once: the start fails, and java.io.tmpdir holds no new isolated-run-* directory")
    void noStateDirLeft(@TempDir Path dir) throws IOException, InterruptedException {
        Path helper = dir.resolve("isolated-helper");
        Files.writeString(helper, "#!/bin/sh\nexit 3\n");
        helper.toFile().setExecutable(true);
        List<Path> before = stateDirs();
        // A JVM of its own: this one may run a helper already, and the helper's path is read only at its start.
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(
                        java,
                        "-D" + IsolatedConfiguration.HELPER_PATH + "=" + helper,
                        "-cp",
                        System.getProperty("java.class.path"),
                        StartOnce.class.getName())
                .redirectErrorStream(true)
                .start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(out).contains("IsolatedException").contains("did not start");
        assertThat(stateDirs()).isEqualTo(before);
    }

    /** Starts the helper once and prints what that threw. */
    static final class StartOnce {
        public static void main(String[] args) {
            try {
                SharedHelper.get();
                System.out.println("started");
            } catch (IsolatedException e) {
                System.out.println("IsolatedException: " + e.getMessage());
            }
        }
    }

    private static List<Path> stateDirs() throws IOException {
        try (Stream<Path> entries = Files.list(Paths.get(System.getProperty("java.io.tmpdir")))) {
            return entries.filter(p -> p.getFileName().toString().startsWith("isolated-run-"))
                    .sorted()
                    .toList();
        }
    }
}
