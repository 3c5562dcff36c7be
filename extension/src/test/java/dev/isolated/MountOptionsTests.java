package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("binds, tmpfs mounts and a read-only rootfs")
class MountOptionsTests {
    static final Path FIXTURES = Paths.get("target/mount-options-fixtures");
    static final Path OUT = Paths.get("target/mount-options-out");

    @Test
    @DisplayName("@Bind: read-only by default, writable on request; @Tmpfs with a size")
    void annotations() throws IOException {
        Files.createDirectories(FIXTURES);
        Files.writeString(FIXTURES.resolve("input.txt"), "fixture");
        Files.createDirectories(OUT);
        // as root the environment's root is a host id of its range, a stranger to the host's root: a writable
        // bind must let others write (README, "User namespaces as root")
        Files.setPosixFilePermissions(OUT, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.deleteIfExists(OUT.resolve("result.txt"));

        EngineRunner.assertAllSucceeded(EngineRunner.run(AnnotatedTestCase.class), 1);

        assertThat(OUT.resolve("result.txt")).content().isEqualTo("fixture processed\n");
        assertThat(FIXTURES.resolve("tampered")).doesNotExist();
    }

    @Test
    @DisplayName("a @Bind whose source is missing fails naming the path")
    void missingSource() {
        EngineRunner.run(MissingSourceTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("test"),
                                finishedWithFailure(
                                        message(m -> m.contains("no/such/dir") && m.contains("does not exist")))));
    }

    @Test
    @DisplayName("a read-only rootfs makes stray writes fail with EROFS; /tmp stays writable")
    void readOnlyRootfs() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .readOnlyRootfs(true)
                .start()) {
            assertThat(env.exec("touch", "/etc/stray")).failed().stderr().contains("Read-only file system");
            assertThat(env.exec("touch", "/tmp/fine")).succeeded();
        }
    }

    @Test
    @DisplayName(
            "every bind is nosuid,nodev: a device node in a writable bind opens nothing (and root inside cannot make one)")
    void bindsAreNosuidNodev(@TempDir Path dir) throws Exception {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .capabilities(Capabilities.ALL)
                .bindWritable(dir, "/bind")
                .bind(dir, "/ro-bind")
                .start()) {
            assertThat(env.mounts())
                    .filteredOn(m -> m.mountPoint().equals("/bind"))
                    .singleElement()
                    .satisfies(m -> assertThat(m.options().split(",")).contains("rw", "nosuid", "nodev"));
            assertThat(env.mounts())
                    .filteredOn(m -> m.mountPoint().equals("/ro-bind"))
                    .singleElement()
                    .satisfies(m -> assertThat(m.options().split(",")).contains("ro", "nosuid", "nodev"));

            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx")); // only nodev may refuse
            // root inside cannot mknod (its user namespace), so the node is made on the host, by the test (root)
            assertThat(env.exec("mknod", "/bind/inside", "c", "1", "3"))
                    .failed()
                    .stderr()
                    .contains("Operation not permitted");
            assertThat(new ProcessBuilder(
                                    "mknod", "-m", "666", dir.resolve("null").toString(), "c", "1", "3")
                            .start()
                            .waitFor())
                    .isZero();
            assertThat(env.exec("sh", "-c", "echo x > /bind/null"))
                    .failed()
                    .stderr()
                    .contains("Permission denied");
            assertThat(env.exec("sh", "-c", "echo x > /ro-bind/null")).failed();
        }
    }

    @Test
    @DisplayName(
            "every @Bind and writable mount is nosuid,nodev, but /dev/pts and the host's devices bound at /dev (and over /proc's masked files)")
    void writableMountsAreNosuidNodev(@TempDir Path dir) {
        Set<String> devices = Set.of("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty");
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .bindWritable(dir, "/bind")
                .bind(dir, "/ro-bind")
                .tmpfs("/scratch", 1 << 20)
                .start()) {
            List<MountInfo> mounts = env.mounts();
            List<MountInfo> writable = mounts.stream()
                    .filter(m -> Arrays.asList(m.options().split(",")).contains("rw"))
                    .toList();
            assertThat(writable)
                    .extracting(MountInfo::mountPoint)
                    .contains("/", "/bind", "/scratch", "/tmp", "/dev", "/dev/shm", "/dev/pts")
                    .containsAll(devices);
            assertThat(mounts)
                    .filteredOn(m -> writable.contains(m) || m.mountPoint().equals("/ro-bind"))
                    .filteredOn(m -> !m.mountPoint().equals("/dev/pts") && !devices.contains(m.mountPoint()))
                    .filteredOn(m ->
                            !(m.mountPoint().startsWith("/proc/") && m.fsType().equals(devices(mounts))))
                    .allSatisfy(m -> assertThat(m.options().split(","))
                            .as(m.mountPoint())
                            .contains("nosuid", "nodev"));
            assertThat(mounts)
                    .filteredOn(m -> m.mountPoint().equals("/dev/pts"))
                    .singleElement()
                    .satisfies(m -> assertThat(m.options().split(",")).contains("nosuid"));
        }
    }

    /** The file system type of the host's devices bound at /dev (devtmpfs on most hosts). */
    private static String devices(List<MountInfo> mounts) {
        return mounts.stream()
                .filter(m -> m.mountPoint().equals("/dev/null"))
                .findFirst()
                .orElseThrow()
                .fsType();
    }

    @Test
    @DisplayName("the builder's bind shares a host directory both ways")
    void builderBind(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("in"), "from host");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx")); // see annotations()
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .bindWritable(dir, "/shared")
                .start()) {
            assertThat(env.exec("sh", "-c", "cat /shared/in && echo from env > /shared/out"))
                    .stdout()
                    .isEqualTo("from host");
        }
        assertThat(dir.resolve("out")).content().isEqualTo("from env\n");
    }

    @Isolated(rootfs = "busybox.tar")
    @Bind(source = "target/mount-options-fixtures", target = "/fixtures")
    @Bind(source = "target/mount-options-out", target = "/out", readOnly = false)
    @Tmpfs(target = "/scratch", sizeBytes = 1 << 20)
    static class AnnotatedTestCase {
        @Test
        void test(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "echo \"$(cat /fixtures/input.txt) processed\" > /out/result.txt"))
                    .succeeded();
            assertThat(env.exec("touch", "/fixtures/tampered"))
                    .failed()
                    .stderr()
                    .contains("Read-only file system");
            assertThat(env).mounts().containsMount("/scratch", "tmpfs");
            assertThat(env.exec("sh", "-c", "head -c 2000000 /dev/zero > /scratch/big"))
                    .failed();
            assertThat(Long.parseLong(env.exec("sh", "-c", "wc -c < /scratch/big")
                            .stdout()
                            .strip()))
                    .isLessThanOrEqualTo(1 << 20);
        }
    }

    static class MissingSourceTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar")
        @Bind(source = "no/such/dir", target = "/x")
        void test(IsolatedEnvironment env) {}
    }
}
