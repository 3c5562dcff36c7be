package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.SPAWNED;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static dev.isolated.internal.helper.ProtocolClient.field;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CREATED's {@code upper-fd=N} (PROTOCOL.md): the env's writable layer, readable from the host
 * as {@code /proc/<init>/fd/N} while the env lives (to keep it when a test failed).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve: the writable layer (upper-fd)")
class HelperWritableLayerTests {

    private static final List<String> APPLETS = List.of("sh", "rm", "echo", "mkdir");

    private static final int S_IFMT = 0170000;

    private static final int S_IFCHR = 0020000;

    @TempDir
    Path tmp;

    Path rootfs;

    @BeforeEach
    void buildBusyboxRootfs() throws IOException {
        rootfs = TestRootfs.busybox(tmp.resolve("rootfs"), APPLETS);
        Files.writeString(rootfs.resolve("etc/group"), "root:x:0:\n");
    }

    @Test
    @DisplayName(
            "overlay: a written file and a deletion's whiteout (char 0:0) are in /proc/<init>/fd/<upper-fd>; the rootfs is untouched")
    void overlayUpperLayer() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Fields created = create(server, "overlay");
            Path upper = upper(created);
            change(server);

            assertThat(upper.resolve("etc/changed")).hasContent("changed inside");
            Map<String, Object> whiteout =
                    Files.readAttributes(upper.resolve("etc/group"), "unix:mode,rdev", LinkOption.NOFOLLOW_LINKS);
            assertThat((int) whiteout.get("mode") & S_IFMT).isEqualTo(S_IFCHR);
            assertThat((long) whiteout.get("rdev")).isZero();
            assertThat(upper.resolve("bin/busybox"))
                    .as("only what changed is in the upper layer")
                    .doesNotExist();
            assertThat(upper.resolve("proc")).as("mounts inside are not in it").doesNotExist();

            assertThat(rootfs.resolve("etc/group")).hasContent("root:x:0:\n");
            assertThat(rootfs.resolve("etc/changed")).doesNotExist();
        }
    }

    @Test
    @DisplayName("copy: upper-fd is the whole copied tree, without the env's mounts")
    void copiedRoot() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Fields created = create(server, "copy");
            Path tree = upper(created);
            change(server);

            assertThat(tree.resolve("etc/changed")).hasContent("changed inside");
            assertThat(tree.resolve("etc/group")).doesNotExist();
            assertThat(tree.resolve("bin/busybox")).isRegularFile();
            try (var procEntries = Files.list(tree.resolve("proc"))) {
                assertThat(procEntries)
                        .as("the env's /proc mount is not seen through it")
                        .isEmpty();
            }
            assertThat(rootfs.resolve("etc/group")).hasContent("root:x:0:\n");
        }
    }

    @Test
    @DisplayName("without mount (chroot): upper-fd is reported too")
    void chrootEnvironment() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Path upper = upper(server.create(1, "rootfs=" + rootfs, "ns=pid,uts,ipc", "rootfs-mode=overlay"));
            change(server);
            assertThat(upper.resolve("etc/changed")).hasContent("changed inside");
        }
    }

    private Fields create(ProtocolClient server, String mode) throws IOException {
        Fields created = server.create(1, "rootfs=" + rootfs, "ns=pid,mount,uts,ipc", "rootfs-mode=" + mode);
        assertThat(created).containsEntry("rootfs-mode", mode).containsKey("upper-fd");
        return created;
    }

    private static Path upper(Fields created) {
        return Path.of("/proc", field(created, "pid"), "fd", field(created, "upper-fd"));
    }

    private static void change(ProtocolClient server) throws IOException {
        Frame spawned = server.request(
                SPAWN, 2, "env=1", "arg=sh", "arg=-c", "arg=echo -n 'changed inside' > /etc/changed && rm /etc/group");
        assertThat(spawned).hasType(SPAWNED);
        assertThat(server.stdoutUntilExit(2)).isEmpty();
    }
}
