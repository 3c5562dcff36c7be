package dev.isolated.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.CommandRunner;
import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedEnvironmentBuilder;
import dev.isolated.image.ImageBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * What every attack of the security suite shares: an image with the hostile payloads (busybox, plus
 * {@code src/test/c/hermetic-probe.c} as {@code /probe} and {@code net-probe.c} as {@code /net-probe}, compiled
 * static with gcc once per JVM), and runners that fail unless the attack really ran: a probe must print
 * {@code probe-done}, a shell attack must print {@code probe-ran} before and {@code probe-done} after it. A probe
 * that did not run is a failure, never a pass.
 */
final class Attacks {
    private static String image;
    private static Path tools;

    private Attacks() {}

    /** The busybox image with {@code /probe} and {@code /net-probe}. */
    static synchronized String image() {
        if (image == null) {
            Path dir = tools();
            image = ImageBuilder.from("busybox.tar")
                    .addStaticBinary(dir.resolve("probe"), "/probe")
                    .addStaticBinary(dir.resolve("net-probe"), "/net-probe")
                    .build()
                    .toString();
        }
        return image;
    }

    /** The directory holding the compiled {@code probe} and {@code net-probe}, also run on the host as controls. */
    static synchronized Path tools() {
        if (tools == null) {
            try {
                Path dir = scratchDirectory("isolated-attacks");
                gcc("src/test/c/hermetic-probe.c", dir.resolve("probe"));
                gcc("src/test/c/net-probe.c", dir.resolve("net-probe"));
                tools = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return tools;
    }

    private static final List<Path> SCRATCH = new ArrayList<>();

    /** A fresh host directory that is deleted, with what is in it, when this JVM exits. */
    private static synchronized Path scratchDirectory(String prefix) throws IOException {
        if (SCRATCH.isEmpty()) {
            Runtime.getRuntime().addShutdownHook(new Thread(Attacks::deleteScratch, "isolated-attacks-cleanup"));
        }
        Path dir = Files.createTempDirectory(prefix);
        SCRATCH.add(dir);
        return dir;
    }

    private static synchronized void deleteScratch() {
        for (Path dir : SCRATCH) {
            try (var tree = Files.walk(dir)) {
                tree.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            } catch (IOException | UncheckedIOException e) {
                System.err.println("Could not delete " + dir + ": " + e);
            }
        }
    }

    private static void gcc(String source, Path out) {
        try {
            Process gcc = new ProcessBuilder(
                            "gcc",
                            "-static",
                            "-O2",
                            "-Wall",
                            "-Werror",
                            "-o",
                            out.toString(),
                            Path.of(source).toAbsolutePath().toString())
                    .redirectErrorStream(true)
                    .start();
            String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(gcc.waitFor())
                    .as("gcc -static %s (needs libc6-dev): %s", source, output)
                    .isZero();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A builder of an environment from {@link #image()} with every default. */
    static IsolatedEnvironmentBuilder env() {
        return IsolatedEnvironment.builder().rootfs(image());
    }

    /** Runs {@code /probe ATTEMPTS...}, requires it to have run to its end; @return its {@code NAME=RESULT} lines */
    static List<String> probe(CommandRunner env, String... attempts) {
        List<String> argv = new ArrayList<>(List.of("/probe"));
        argv.addAll(List.of(attempts));
        ExecResult result = env.exec(argv.toArray(String[]::new));
        assertThat(result.exitCode()).as("the probe's exit code: %s", result).isZero();
        assertThat(result.stdoutLines())
                .as("the probe ran every attempt: %s", result)
                .endsWith("probe-done");
        return result.stdoutLines();
    }

    /** Runs {@code sh -c SCRIPT} between {@code echo probe-ran} and {@code echo probe-done}, requires both lines. */
    static ExecResult sh(CommandRunner env, String script) {
        ExecResult result = env.exec("sh", "-c", "echo probe-ran; " + script + "\necho probe-done");
        List<String> lines = result.stdoutLines();
        assertThat(lines).as("the attack ran: %s", result).isNotEmpty();
        assertThat(lines.get(0)).as("the attack started: %s", result).isEqualTo("probe-ran");
        assertThat(lines.get(lines.size() - 1))
                .as("the attack ran to its end: %s", result)
                .isEqualTo("probe-done");
        return result;
    }

    /** Whether this JVM runs as root (the suite also runs as uid 65534, see SecuritySuiteAsNobodyTests). */
    static boolean root() {
        return uid() == 0;
    }

    static long uid() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:"))
                    .map(l -> Long.parseLong(l.split("\\s+")[1]))
                    .findFirst()
                    .orElseThrow();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A host file with a random secret in a fresh host directory; @return the file (its content is the secret) */
    static Path hostSecret() {
        try {
            Path dir = scratchDirectory("isolated-secret");
            return Files.writeString(dir.resolve("secret"), "host-secret-" + UUID.randomUUID() + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String secretOf(Path file) {
        try {
            return Files.readString(file).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Host processes whose command line contains {@code marker}. */
    static List<Long> hostProcesses(String marker) {
        List<Long> found = new ArrayList<>();
        try (var entries = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : entries) {
                try {
                    String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8)
                            .replace('\0', ' ');
                    if (cmdline.contains(marker)) {
                        found.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException gone) {
                    // exited meanwhile
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found;
    }

    /** A number unlikely to be in any other command line, for {@code sleep N} markers. */
    static String marker() {
        return Long.toString(1_000_000 + (long) (Math.random() * 8_000_000));
    }
}
