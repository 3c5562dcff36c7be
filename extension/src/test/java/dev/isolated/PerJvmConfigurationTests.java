package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The keys read once per JVM (helper, image cache, unpack limits) are JUnit configuration parameters like every
 * other key: each run is a fresh child JVM, as the helper and the cache of this one are set up already.
 */
@DisplayName("per-JVM configuration keys")
class PerJvmConfigurationTests {

    @Test
    @DisplayName("isolated.cache.dir and isolated.helper.dir are read from junit-platform.properties")
    void fromJunitPlatformProperties(@TempDir Path dir) throws IOException, InterruptedException {
        Path properties = Files.createDirectories(dir.resolve("properties"));
        Path cache = dir.resolve("cache");
        Path helper = dir.resolve("helper");
        Files.writeString(
                properties.resolve("junit-platform.properties"),
                IsolatedConfiguration.CACHE_DIR + "=" + cache + "\n" + IsolatedConfiguration.HELPER_DIR + "=" + helper
                        + "\n");

        List<String> lines =
                runFixture(List.of("-cp", properties + File.pathSeparator + System.getProperty("java.class.path")));

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
        assertThat(cache.resolve("images")).as("the image cache").isDirectoryContaining(p -> true);
        try (Stream<Path> files = Files.walk(helper)) {
            assertThat(files.filter(p -> p.getFileName().toString().equals("isolated-helper")))
                    .as("the extracted helper")
                    .hasSize(1);
        }
    }

    @Test
    @DisplayName("isolated.helper.path is read from the launcher's configuration parameters")
    void helperPathFromTheLauncher(@TempDir Path dir) throws IOException, InterruptedException {
        Path missing = dir.resolve("no-such-helper");

        List<String> lines = runFixture(
                List.of("-cp", System.getProperty("java.class.path")),
                IsolatedConfiguration.HELPER_PATH + "=" + missing);

        assertThat(lines)
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith("FAILED")
                        .contains("The isolated helper " + missing
                                + " (from the configuration parameter isolated.helper.path) " + "does not exist."));
    }

    @Test
    @DisplayName("isolated.image.maxEntries is read from system properties as well, and named when an image exceeds it")
    void imageLimitFromSystemProperties(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = runFixture(List.of(
                "-D" + IsolatedConfiguration.IMAGE_MAX_ENTRIES + "=3",
                "-D" + IsolatedConfiguration.CACHE_DIR + "=" + dir.resolve("cache"),
                "-cp",
                System.getProperty("java.class.path")));

        assertThat(lines)
                .singleElement()
                .satisfies(line ->
                        assertThat(line).startsWith("FAILED").contains(IsolatedConfiguration.IMAGE_MAX_ENTRIES));
    }

    @Test
    @DisplayName("an isolated.helper.dir on a noexec file system fails the test naming the setting to change")
    void helperDirNoexec(@TempDir Path dir) throws IOException, InterruptedException {
        Path mount = Files.createDirectory(dir.resolve("noexec"));
        // A noexec tmpfs in a mount namespace of the child's own: the host's mounts stay as they are.
        List<String> noexec = List.of(
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                "mount -t tmpfs -o noexec noexec \"$0\" && exec \"$@\"",
                mount.toString());

        List<String> lines = runFixture(
                noexec,
                List.of("-cp", System.getProperty("java.class.path")),
                IsolatedConfiguration.HELPER_DIR + "=" + mount.resolve("helper"));

        assertThat(lines)
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith("FAILED\tIsolatedException: The isolated helper " + mount.resolve("helper") + "/")
                        .endsWith("/isolated-helper (from the extraction directory (set -Disolated.helper.dir to "
                                + "change it)) cannot be executed; is its file system mounted noexec? Set "
                                + "-Disolated.helper.dir=<a directory on an exec-allowed file system>."));
    }

    @Test
    @DisplayName("an isolated.helper.dir or isolated.cache.dir of another user fails the test with README's message,"
            + " naming the directory, its owner and the setting")
    void directoriesOfAnotherUser(@TempDir Path dir) throws IOException, InterruptedException {
        String me = String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        for (String[] setting : new String[][] {
            {IsolatedConfiguration.HELPER_DIR, "the isolated helper"},
            {IsolatedConfiguration.CACHE_DIR, "the image cache"}
        }) {
            Path foreign = Files.createDirectory(dir.resolve(setting[0]));
            Files.setAttribute(foreign, "unix:uid", 65534);
            List<String> lines =
                    runFixture(List.of("-cp", System.getProperty("java.class.path")), setting[0] + "=" + foreign);
            assertThat(lines)
                    .as(setting[0])
                    .containsExactly("FAILED\tIsolatedException: The directory of " + setting[1] + ", " + foreign
                            + ", is owned by uid 65534: another user could replace what is in it before it runs. Use a "
                            + "directory of uid " + me + ": set -D" + setting[0] + "=<a directory of yours>.");
        }
    }

    @Test
    @DisplayName("a JVM of an architecture the jar has no helper for fails the test with README's message")
    void architectureWithoutAHelper() throws IOException, InterruptedException {
        List<String> lines = runFixture(List.of("-Dos.arch=riscv64", "-cp", System.getProperty("java.class.path")));

        assertThat(lines)
                .containsExactly(
                        "FAILED\tIsolatedException: Isolated's jar holds its native helper for x86_64 (amd64) and"
                                + " aarch64 (arm64) Linux only; this JVM runs on riscv64 (os.arch). Build the helper for riscv64"
                                + " from the project's native/ directory (gcc -static -D_GNU_SOURCE -o isolated-helper"
                                + " native/src/main/c/*.c) and set -Disolated.helper.path=<its path>.");
    }

    /** Runs {@link TestCase} in a child JVM with {@code jvmArguments} and launcher configuration parameters. */
    private static List<String> runFixture(List<String> jvmArguments, String... configuration)
            throws IOException, InterruptedException {
        return runFixture(List.of(), jvmArguments, configuration);
    }

    /** As {@link #runFixture(List, String...)}, the child started by the command prefix {@code launcher}. */
    private static List<String> runFixture(List<String> launcher, List<String> jvmArguments, String... configuration)
            throws IOException, InterruptedException {
        return FixtureRunner.runInChildJvm(launcher, jvmArguments, TestCase.class, configuration);
    }

    static class TestCase {
        @Test
        @Isolated(rootfs = "busybox.tar")
        void test(IsolatedEnvironment env) {
            assertThat(env.exec("true").exitCode()).isZero();
        }
    }
}
