package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.HelperPaths.HELPER;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code isolated-helper run} with binds, tmpfs and a read-only root: what is visible and writable
 * inside, and what reaches the host.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper")
class HelperMountsTests extends AbstractHelperCliTests {

    @Nested
    @DisplayName("mounts")
    class Mounts {

        Path hostDir;

        /** As root, root inside is a host id of the env's own range: it writes a bind only where others may. */
        void writableForTheRange(Path dir) throws IOException {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        }

        @BeforeEach
        void hostDirectory() throws IOException {
            hostDir = Files.createDirectories(tmp.resolve("host-dir"));
            Files.writeString(hostDir.resolve("data.txt"), "from the host\n");
            Files.setPosixFilePermissions(hostDir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(hostDir.resolve("data.txt"), PosixFilePermissions.fromString("rw-r--r--"));
        }

        @Test
        @DisplayName("--ro-bind: the host directory is visible at a new path and writes fail with EROFS")
        void readOnlyBind() throws Exception {
            Result result = runWith(
                    List.of("--ro-bind", hostDir + ":/data/in"),
                    "sh",
                    "-c",
                    "cat /data/in/data.txt; echo x > /data/in/new; echo rc=$?");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout()).isEqualTo("from the host\nrc=1\n");
            assertThat(result.stderr()).contains("Read-only file system");
            assertThat(hostDir.resolve("new")).doesNotExist();
            assertThat(rootfs.resolve("data")).doesNotExist(); // the target was created in the overlay only
        }

        @Test
        @DisplayName("--bind rw: writes reach the host directory; a single file can be bound too")
        void readWriteBindAndFileBind() throws Exception {
            writableForTheRange(hostDir);
            Result result = runWith(
                    List.of("--bind", hostDir + ":/data", "--bind", hostDir.resolve("data.txt") + ":/etc/bound.txt:ro"),
                    "sh",
                    "-c",
                    "echo written > /data/out.txt; cat /etc/bound.txt");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout()).isEqualTo("from the host\n");
            assertThat(hostDir.resolve("out.txt")).hasContent("written");
        }

        @Test
        @DisplayName("--bind of a missing source: exit 125, stage bind, naming source and target")
        void missingBindSource() throws Exception {
            Path missing = tmp.resolve("no-such-dir");

            Result result = runWith(List.of("--bind", missing + ":/data"), "true");

            assertThat(result.code()).isEqualTo(125);
            assertThat(result.stderr()).contains("isolated-helper: bind:", missing.toString(), "/data", "hint:");
        }

        @Test
        @DisplayName(
                "a bind target behind an absolute symlink in the image resolves inside the root, never on the host")
        void bindTargetSymlinkCannotEscape() throws Exception {
            Path outside = Files.createDirectories(tmp.resolve("outside"));
            Files.createSymbolicLink(rootfs.resolve("to-etc"), Path.of("/etc")); // exists inside and on the host
            Files.createSymbolicLink(rootfs.resolve("to-outside"), outside); // exists only on the host
            for (String noOpenat2 : List.of("0", "1")) {
                List<String> helper = List.of(
                        "env",
                        "ISOLATED_HELPER_NO_OPENAT2=" + noOpenat2,
                        HELPER.toString(),
                        "run",
                        "--rootfs",
                        rootfs.toString());

                Result inside = exec(concat(
                        helper, List.of("--ro-bind", hostDir + ":/to-etc/bound", "--", "cat", "/etc/bound/data.txt")));
                Result dangling =
                        exec(concat(helper, List.of("--ro-bind", hostDir + ":/to-outside/bound", "--", "true")));

                assertThat(inside.code()).as(inside.stderr()).isZero();
                assertThat(inside.stdout()).isEqualTo("from the host\n");
                assertThat(Path.of("/etc/bound")).doesNotExist();
                assertThat(rootfs.resolve("etc/bound")).doesNotExist();
                assertThat(dangling.code()).isEqualTo(125);
                assertThat(dangling.stderr()).contains("isolated-helper: bind:", "/to-outside/bound");
                assertThat(outside.resolve("bound"))
                        .as("with ISOLATED_HELPER_NO_OPENAT2=" + noOpenat2)
                        .doesNotExist();
            }
        }

        @Test
        @DisplayName("--tmpfs: mounted with the given size and mode")
        void tmpfsWithSizeAndMode() throws Exception {
            Result result = runWith(
                    List.of("--tmpfs", "/scratch:1048576:700"),
                    "sh",
                    "-c",
                    "grep ' /scratch ' /proc/self/mountinfo; stat -c %a /scratch; echo x > /scratch/f && echo ok");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout())
                    .contains("tmpfs", "size=1024k", "mode=700")
                    .endsWith("700\nok\n");
        }

        @Test
        @DisplayName(
                "--readonly-root: writes to /etc fail with EROFS, /tmp, /dev/shm, tmpfs and rw binds stay writable")
        void readOnlyRoot() throws Exception {
            writableForTheRange(hostDir);
            Result result = runWith(
                    List.of("--readonly-root", "--tmpfs", "/scratch", "--bind", hostDir + ":/data"),
                    "sh",
                    "-c",
                    "touch /etc/stray; echo etc=$?; touch /tmp/a /dev/shm/a /scratch/a /data/a && echo writable");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout()).isEqualTo("etc=1\nwritable\n");
            assertThat(result.stderr()).contains("/etc/stray", "Read-only file system");
        }

        @Test
        @DisplayName("rootless --ro-bind of a nosuid,nodev,noexec mount (locked flags in a user namespace) works")
        void rootlessReadOnlyBindOfLockedMount() throws Exception {
            Path helper = HelperPaths.rootlessCopy(tmp);
            Path locked = Files.createDirectories(tmp.resolve("locked"));
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwxr-xr-x"));

            Result result = exec(List.of(
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    "mount -t tmpfs -o nosuid,nodev,noexec,mode=0755 locked " + locked + " && echo hi > " + locked
                            + "/f && "
                            + "exec setpriv --reuid=65534 --regid=65534 --clear-groups " + helper + " run --rootfs "
                            + rootfs
                            + " --ro-bind " + locked + ":/data -- sh -c 'cat /data/f; touch /data/g; echo rc=$?'"));

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout()).isEqualTo("hi\nrc=1\n");
            assertThat(result.stderr()).contains("Read-only file system");
        }
    }
}
