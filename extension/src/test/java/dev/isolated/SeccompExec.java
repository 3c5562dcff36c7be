package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The test-only launcher {@code src/test/c/seccomp-exec.c} (compiled here with gcc): a command prefix that runs
 * what follows under a seccomp filter, on the host, without any namespace of its own.
 */
public final class SeccompExec {
    private static final Path SOURCE = Path.of("src/test/c/seccomp-exec.c").toAbsolutePath();

    private SeccompExec() {}

    /**
     * @param dir a scratch directory
     * @return {@code [seccomp-exec, FILTER]}: what follows runs as on Ubuntu 24.04 with
     *     {@code kernel.apparmor_restrict_unprivileged_userns=1}, see {@link SeccompFilters#restrictedUserNamespace()}
     */
    public static List<String> restrictedUserNamespace(Path dir) throws IOException, InterruptedException {
        return withFilter(dir, "restricted-userns.bpf", SeccompFilters.restrictedUserNamespace());
    }

    /**
     * @param dir a scratch directory
     * @return {@code [seccomp-exec, FILTER]}: what follows runs as in a Docker container with Docker's default seccomp
     *     profile, see {@link SeccompFilters#dockerDefault()}
     */
    public static List<String> dockerDefault(Path dir) throws IOException, InterruptedException {
        return withFilter(dir, "docker-default.bpf", SeccompFilters.dockerDefault());
    }

    private static List<String> withFilter(Path dir, String name, byte[] program)
            throws IOException, InterruptedException {
        Path launcher = dir.resolve("seccomp-exec");
        Process gcc = new ProcessBuilder("gcc", "-O2", "-Wall", "-Werror", "-o", launcher.toString(), SOURCE.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(gcc.getInputStream().readAllBytes());
        assertThat(gcc.waitFor()).as("gcc %s: %s", SOURCE, output).isZero();
        Path filter = Files.write(dir.resolve(name), program);
        Files.setPosixFilePermissions(filter, PosixFilePermissions.fromString("rw-r--r--"));
        return List.of(launcher.toString(), filter.toString());
    }
}
