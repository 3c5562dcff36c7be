package dev.isolated.internal.image;

import static dev.isolated.internal.image.TestTars.tar;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The attack of issue 11, through the real cache: root unpacks an image holding a set-uid-root program and a
 * device node into a cache under {@code /tmp}; another local user (uid 65534) must not reach either.
 */
@DisplayName("the image cache is private: other users reach nothing in it, whatever the umask and location")
class PrivateStoreTests {

    private static final Path BUSYBOX =
            Files.exists(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");

    /** {@code mode_t umask(mode_t mask)}: the umask is the whole process's. */
    private interface LibC extends Library {
        int umask(int mask);
    }

    private static final LibC LIBC = Native.load("c", LibC.class);

    private Path base;
    private final List<String> notes = new CopyOnWriteArrayList<>();

    @BeforeEach
    void createBase() throws IOException {
        assertThat(PosixCalls.isRoot())
                .as("this test needs real root, as CI has")
                .isTrue();
        // Under /tmp, traversable by everyone: only the cache's own modes keep uid 65534 out.
        base = Files.createTempDirectory(Path.of("/tmp"), "isolated-store-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        ImageCache.forgetHandedOut();
    }

    @AfterEach
    void deleteBase() throws IOException {
        FileTrees.deleteRecursively(base);
    }

    @ParameterizedTest(name = "umask {0}")
    @ValueSource(ints = {022, 0})
    @DisplayName("a set-uid-root program unpacked as root cannot be run by uid 65534, and no device node is created")
    void setUidProgramAndDevice(int umask) throws Exception {
        byte[] image = tar().directory("bin", 0755)
                .file("bin/busybox", 0755, Files.readAllBytes(BUSYBOX))
                .file("bin/suid-busybox", 04755, Files.readAllBytes(BUSYBOX))
                .directory("dev", 0755)
                .characterDevice("dev/mem-copy", 1, 1) // /dev/mem's numbers
                .bytes();
        Path cacheDirectory = base.resolve("cache");
        Path rootfs;
        int previous = LIBC.umask(umask);
        try {
            rootfs = new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), notes::add)
                    .rootfsFor(ImageCacheTests.archive("image.tar", image));
        } finally {
            LIBC.umask(previous);
        }

        Path entry = rootfs.getParent();
        Path setUid = rootfs.resolve("bin/suid-busybox");
        // The path is right: as root it is there, set-uid root, and the device entry was skipped with a note.
        assertThat(mode(setUid)).isEqualTo(0104755);
        assertThat(Files.getAttribute(setUid, "unix:uid")).isEqualTo(0);
        assertThat(rootfs.resolve("dev")).isDirectory();
        assertThat(rootfs.resolve("dev/mem-copy")).doesNotExist();
        assertThat(notes)
                .contains("Image archive image.tar: skipped character device 'dev/mem-copy' (1:1): "
                        + "the image cache never holds device nodes; the environment mounts its own /dev");
        assertThat(entry.resolve("complete"))
                .content()
                .contains("note=Image archive image.tar: skipped character " + "device 'dev/mem-copy'");
        for (Path dir : List.of(cacheDirectory, cacheDirectory.resolve("images"), entry)) {
            assertThat(mode(dir) & 07777).as("the mode of %s", dir).isEqualTo(0700);
            assertThat(Files.getAttribute(dir, "unix:uid"))
                    .as("the owner of %s", dir)
                    .isEqualTo(0);
        }

        // uid 65534 can run programs (the control), but not the set-uid one in the cache, nor list the cache.
        Result control = asNobody(BUSYBOX.toString(), "id", "-u");
        assertThat(control.exitCode()).as(control.toString()).isZero();
        assertThat(control.stdout()).isEqualTo("65534\n");
        Result run = asNobody(setUid.toString(), "id", "-u");
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(126); // sh: exec failed (EACCES), not "not found" (127)
        assertThat(run.stderr()).contains(setUid + ": Permission denied");
        assertThat(run.stdout()).isEmpty();
        Result list = asNobody(BUSYBOX.toString(), "ls", cacheDirectory.toString());
        assertThat(list.exitCode()).as(list.toString()).isNotZero();
        assertThat(list.stderr()).contains("Permission denied");
    }

    @ParameterizedTest(name = "umask {0}")
    @ValueSource(ints = {022})
    @DisplayName("a cache left 0755 by an older version (root, images/, each entry) is made 0700 at the next start")
    void tightensAnOldCache(int umask) throws IOException {
        byte[] image = tar().file("etc/hostname", "box\n").bytes();
        Path cacheDirectory = base.resolve("cache");
        Path rootfs = new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), notes::add)
                .rootfsFor(ImageCacheTests.archive("image.tar", image));
        Path entry = rootfs.getParent();
        List<Path> dirs = List.of(cacheDirectory, cacheDirectory.resolve("images"), entry);
        for (Path dir : dirs) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        ImageCache.forgetHandedOut();

        int previous = LIBC.umask(umask);
        try {
            assertThat(new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), notes::add)
                            .rootfsFor(ImageCacheTests.archive("image.tar", image)))
                    .isEqualTo(rootfs);
        } finally {
            LIBC.umask(previous);
        }

        for (Path dir : dirs) {
            assertThat(mode(dir) & 07777).as("the mode of %s", dir).isEqualTo(0700);
        }
        assertThat(mode(rootfs) & 07777).as("the rootfs keeps the image's mode").isEqualTo(0755);
    }

    @org.junit.jupiter.api.Test
    @DisplayName("a cache deleted while its ImageCache lives is made again, 0700")
    void recreatedAfterDeletion() throws IOException {
        byte[] image = tar().file("etc/hostname", "box\n").bytes();
        Path cacheDirectory = base.resolve("cache");
        ImageCache cache = new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), notes::add);
        cache.rootfsFor(ImageCacheTests.archive("image.tar", image));
        FileTrees.deleteRecursively(cacheDirectory);

        assertThat(cache.rootfsFor(ImageCacheTests.archive("image.tar", image)).resolve("etc/hostname"))
                .hasContent("box");
        assertThat(mode(cacheDirectory) & 07777).isEqualTo(0700);
        assertThat(mode(cacheDirectory.resolve("images")) & 07777).isEqualTo(0700);
    }

    @ParameterizedTest(name = "umask {0}")
    @ValueSource(ints = {0})
    @DisplayName("OwnDirectory.createPrivate makes 0700 whatever the umask; requirePrivate refuses a symlink")
    void createPrivate(int umask) throws IOException {
        Path dir = base.resolve("a/b/private");
        int previous = LIBC.umask(umask);
        try {
            OwnDirectory.createPrivate(dir);
        } finally {
            LIBC.umask(previous);
        }
        assertThat(mode(dir) & 07777).isEqualTo(0700);
        Path link = Files.createSymbolicLink(base.resolve("link"), dir);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> OwnDirectory.requirePrivate(link, "the image cache", "-Disolated.cache.dir"))
                .hasMessageContaining("is not a directory");
    }

    private static int mode(Path path) throws IOException {
        return (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    }

    private record Result(int exitCode, String stdout, String stderr) {}

    /**
     * Runs {@code command} as uid/gid 65534 without supplementary groups, exec'd by a shell that already runs
     * as 65534. Not by {@code setpriv} itself: it keeps its capabilities (PR_SET_KEEPCAPS) until its own
     * {@code execve}, so that {@code execve} would pass through a 0700 directory of root's.
     */
    private static Result asNobody(String... command) throws IOException, InterruptedException {
        List<String> argv = new java.util.ArrayList<>(List.of(
                "setpriv",
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                BUSYBOX.toString(),
                "sh",
                "-c",
                "exec \"$@\"",
                "sh"));
        argv.addAll(List.of(command));
        Process process = new ProcessBuilder(argv).start();
        process.getOutputStream().close();
        String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(process.exitValue(), stdout, stderr);
    }
}
