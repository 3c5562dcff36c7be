package dev.isolated.internal.helper;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built-in filter's program (native/src/main/c/seccomp.c) against the rules it was built from, for every
 * syscall number: {@code src/test/c/seccomp-verify.c}, compiled here with gcc, interprets it.
 */
@DisplayName("the default seccomp filter's program")
class DefaultSeccompFilterTests {
    private static final Path NATIVE =
            Path.of("../native/src/main/c").toAbsolutePath().normalize();
    private static final Path SOURCE = Path.of("src/test/c/seccomp-verify.c").toAbsolutePath();

    @Test
    @DisplayName("answers as its rules say for every syscall number, masks ioctl's high bits, refuses x32 and i386")
    void everySyscallNumber(@TempDir Path dir) throws Exception {
        Path verify = dir.resolve("seccomp-verify");
        Process gcc = new ProcessBuilder(
                        "gcc",
                        "-std=gnu11",
                        "-O2",
                        "-D_GNU_SOURCE",
                        "-I" + NATIVE,
                        "-o",
                        verify.toString(),
                        SOURCE.toString())
                .redirectErrorStream(true)
                .start();
        String compiled = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(gcc.waitFor()).as("gcc: %s", compiled).isZero();

        Process run =
                new ProcessBuilder(verify.toString()).redirectErrorStream(true).start();
        String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(run.waitFor()).as(out).isZero();
        assertThat(out).contains("all=0: ", "all=1: ", "every syscall number 0..599 as expected");
    }
}
