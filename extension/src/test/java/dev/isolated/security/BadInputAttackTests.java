package dev.isolated.security;

import static dev.isolated.security.Attacks.env;
import static dev.isolated.security.Attacks.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.isolated.Command;
import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Bad input and resource abuse: what a hostile command prints, what a test passes (huge arguments, a bad
 * hostname, a NUL), and files planted to hang or exhaust the JVM's file operations. Each attack checks its
 * effect was bounded and that the environment (and the helper) still works afterwards.
 */
@DisplayName("security: bad input and resource abuse")
class BadInputAttackTests {

    private static void stillWorks(IsolatedEnvironment env) {
        assertThat(env.exec("echo", "alive").stdout())
                .as("the environment and its helper still work")
                .isEqualTo("alive\n");
    }

    @Test
    @DisplayName("2 GiB on stdout: the JVM keeps 16 MiB, counts the rest, and does not run out of memory")
    void hugeStdout() {
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r = env.exec("sh", "-c", "head -c 2147483648 /dev/zero; echo probe-done >&2");
            assertThat(r.stderr()).isEqualTo("probe-done\n");
            assertThat(r.stdoutBytes().length).isEqualTo(ExecResult.DEFAULT_MAX_OUTPUT_BYTES);
            assertThat(r.stdoutDroppedBytes()).isEqualTo((2L << 30) - ExecResult.DEFAULT_MAX_OUTPUT_BYTES);
            stillWorks(env);
        }
    }

    @Test
    @DisplayName("256 MiB on stderr is bounded the same way")
    void hugeStderr() {
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r = env.exec("sh", "-c", "echo probe-ran; head -c 268435456 /dev/zero >&2; echo probe-done");
            assertThat(r.stdoutLines()).containsExactly("probe-ran", "probe-done");
            assertThat(r.stderrDroppedBytes()).isEqualTo((256L << 20) - ExecResult.DEFAULT_MAX_OUTPUT_BYTES);
        }
    }

    @Test
    @DisplayName("a 2 MiB argument is refused before it is sent (IllegalArgumentException), the helper lives on")
    void hugeArgument() {
        try (IsolatedEnvironment env = env().start()) {
            assertThatThrownBy(() -> env.exec("echo", "x".repeat(2 << 20)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("over the isolated helper's limit of 1,048,576 bytes");
            stillWorks(env);
        }
    }

    @Test
    @DisplayName("a 2 MiB environment variable is refused the same way")
    void hugeEnvironmentVariable() {
        try (IsolatedEnvironment env = env().start()) {
            assertThatThrownBy(() -> env.exec(Command.of("true").withEnv("X", "x".repeat(2 << 20))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("1,048,576 bytes");
            stillWorks(env);
        }
    }

    @Test
    @DisplayName(
            "a 200 KiB argument (over the kernel's MAX_ARG_STRLEN) gives exit code 126, E2BIG, the helper lives on")
    void argumentOverKernelLimit() {
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r = env.exec("echo", "x".repeat(200 << 10));
            assertThat(r.exitCode()).isEqualTo(126);
            assertThat(r.stderr()).contains("Argument list too long");
            stillWorks(env);
        }
    }

    @Test
    @DisplayName("100,000 arguments within the request limit run, and the helper lives on")
    void manyArguments() {
        try (IsolatedEnvironment env = env().start()) {
            String[] argv = new String[100_004];
            argv[0] = "sh";
            argv[1] = "-c";
            argv[2] = "echo $#";
            argv[3] = "sh";
            java.util.Arrays.fill(argv, 4, argv.length, "a");
            assertThat(env.exec(argv).stdout()).isEqualTo("100000\n");
            stillWorks(env);
        }
    }

    @ParameterizedTest(name = "hostname \"{0}\" is refused before anything changes")
    @DisplayName("an invalid hostname")
    @ValueSource(strings = {"300", "new\nline", "../etc", "-lead", "nul\0x", "sp ace"})
    void invalidHostname(String name) {
        String hostname = name.equals("300") ? "a".repeat(300) : name;
        assertThatThrownBy(() -> env().hostname(hostname).start())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Invalid hostname");
        try (IsolatedEnvironment env = env().hostname("kept").start()) {
            assertThatThrownBy(() -> env.setHostname(hostname)).isInstanceOf(IllegalArgumentException.class);
            assertThat(env.hostname()).isEqualTo("kept");
        }
    }

    @ParameterizedTest(name = "a NUL in {0} is refused (IllegalArgumentException), never silently cut")
    @DisplayName("a NUL byte")
    @ValueSource(strings = {"an argument", "an environment variable", "a readString path"})
    void nul(String where) {
        try (IsolatedEnvironment env = env().start()) {
            sh(env, "echo inside > /tmp/f");
            Runnable attack = switch (where) {
                case "an argument" -> () -> env.exec("echo", "before\0after");
                case "an environment variable" ->
                    () -> env.exec(Command.of("true").withEnv("X", "before\0after"));
                default -> () -> env.readString("/tmp/f\0/../../../etc/passwd");
            };
            assertThatThrownBy(attack::run)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("NUL");
            stillWorks(env);
        }
    }

    @Test
    @DisplayName("readString of a FIFO planted in the environment fails at once instead of hanging")
    void readStringFifo() {
        try (IsolatedEnvironment env = env().start()) {
            sh(env, "mkfifo /tmp/fifo");
            assertTimeoutPreemptively(
                    Duration.ofSeconds(5),
                    () -> assertThatThrownBy(() -> env.readString("/tmp/fifo"))
                            .hasMessageContaining("is a FIFO, not a regular file"));
        }
    }

    @Test
    @DisplayName("readString of a symlink to /dev/zero fails at once instead of filling the heap")
    void readStringDevZero() {
        try (IsolatedEnvironment env = env().start()) {
            sh(env, "ln -s /dev/zero /tmp/zero");
            assertTimeoutPreemptively(
                    Duration.ofSeconds(5),
                    () -> assertThatThrownBy(() -> env.readString("/tmp/zero"))
                            .hasMessageContaining("character device"));
        }
    }

    @Test
    @DisplayName("readString of a 100 MiB file is refused (over 64 MiB)")
    void readStringHuge() {
        try (IsolatedEnvironment env = env().start()) {
            sh(env, "truncate -s 100M /tmp/big");
            assertThatThrownBy(() -> env.readString("/tmp/big")).hasMessageContaining("larger than 64 MiB");
        }
    }

    @Test
    @DisplayName("copyOut onto an existing host file is refused and leaves the file byte for byte")
    void copyOutOverHostFile(@TempDir Path dir) throws Exception {
        Path victim = Files.writeString(dir.resolve("victim"), "precious\n");
        try (IsolatedEnvironment env = env().start()) {
            sh(env, "echo pwned > /tmp/out");
            assertThatThrownBy(() -> env.copyOut("/tmp/out", victim))
                    .hasMessageContaining("already exists on the host");
        }
        assertThat(Files.readString(victim)).isEqualTo("precious\n");
    }

    @Test
    @DisplayName("copyOut of a symlink to /etc/shadow copies a symlink, never the host's file content")
    void copyOutSymlinkToShadow(@TempDir Path dir) throws Exception {
        try (IsolatedEnvironment env = env().start()) {
            sh(env, "mkdir /tmp/out && ln -s /etc/shadow /tmp/out/shadow && ln -s ../../../../etc/shadow /tmp/out/up");
            Path out = dir.resolve("out");
            env.copyOut("/tmp/out", out);
            assertThat(Files.isSymbolicLink(out.resolve("shadow"))).isTrue();
            assertThat(Files.isSymbolicLink(out.resolve("up"))).isTrue();
            assertThat(Files.readSymbolicLink(out.resolve("shadow"))).hasToString("/etc/shadow");
        }
    }
}
