package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.CREATE;
import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.SPAWNED;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static dev.isolated.internal.helper.ProtocolClient.field;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** CREATE's {@code upper-size=}, {@code upper-dir=} and {@code layer=}, and {@code copy-layer} (PROTOCOL.md). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper: the writable layer's size and place, read-only layers, copy-layer")
class HelperLayersTests {
    private static final List<String> APPLETS = List.of("sh", "rm", "echo", "mkdir", "cat", "ls", "df", "stat");

    @TempDir
    Path tmp;

    Path rootfs;

    @BeforeEach
    void buildBusyboxRootfs() throws IOException {
        rootfs = TestRootfs.busybox(tmp.resolve("rootfs"), APPLETS);
        Files.writeString(rootfs.resolve("etc/group"), "root:x:0:\n");
        Files.createDirectories(rootfs.resolve("usr/share/doc"));
        Files.writeString(rootfs.resolve("usr/share/doc/old"), "old\n");
    }

    @Test
    @DisplayName("upper-size=8m: the tmpfs under the overlay is 8 MiB (df /)")
    void upperSize() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.create(1, "rootfs=" + rootfs, "ns=pid,mount", "upper-size=8m");
            assertThat(run(server, 2, "df -k / | tail -1")).matches("overlay\\s+8192\\s.*\\n");
        }
    }

    @Test
    @DisplayName("upper-dir=DIR: the writes land in DIR/upper; as root DIR is given to the env's id range, 0700")
    void upperDir() throws Exception {
        Path dir = Files.createDirectory(
                tmp.resolve("disk"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Fields created = server.create(1, "rootfs=" + rootfs, "ns=pid,mount", "upper-dir=" + dir);
            run(server, 2, "echo on-disk > /written");
            assertThat(dir.resolve("upper/written")).hasContent("on-disk");
            long base = Long.parseLong(field(created, "id-range").split("\t")[0]);
            assertThat(Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS))
                    .isEqualTo((int) base);
            assertThat(Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS))
                    .isEqualTo(040700);
            assertThat(Path.of("/proc", field(created, "pid"), "fd", field(created, "upper-fd"), "written"))
                    .hasContent("on-disk");
        }
    }

    @Test
    @DisplayName(
            "copy-layer + layer=: a later env sees the first one's files, deletions (whiteouts) and replaced directories (opaque), owners unshifted to image ids")
    void copiedLayer() throws Exception {
        Path frozen = tmp.resolve("frozen");
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Fields created = server.create(1, "rootfs=" + rootfs, "ns=pid,mount");
            run(
                    server,
                    2,
                    "echo kept > /etc/kept; rm /etc/group; rm -r /usr/share; mkdir -p /usr/share; "
                            + "echo new > /usr/share/new");
            String base = field(created, "id-range").split("\t")[0];
            Process copy = new ProcessBuilder(
                            HelperPaths.helper().toString(),
                            "copy-layer",
                            "/proc/" + field(created, "pid") + "/fd/" + field(created, "upper-fd"),
                            frozen.toString(),
                            base)
                    .redirectErrorStream(true)
                    .start();
            String out = new String(copy.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(copy.waitFor()).as(out).isZero();
        }
        Map<String, Object> whiteout =
                Files.readAttributes(frozen.resolve("etc/group"), "unix:mode,rdev,uid", LinkOption.NOFOLLOW_LINKS);
        assertThat((int) whiteout.get("mode") & 0170000).isEqualTo(0020000);
        assertThat((long) whiteout.get("rdev")).isZero();
        assertThat(Files.getAttribute(frozen.resolve("etc/kept"), "unix:uid", LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(0);
        assertThat(Files.getAttribute(frozen, "unix:mode", LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(040755);

        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state2"))) {
            server.create(1, "rootfs=" + rootfs, "ns=pid,mount", "layer=" + frozen);
            assertThat(run(server, 2, "cat /etc/kept; ls /etc/group 2>&1; ls /usr/share; stat -c %u /etc/kept"))
                    .isEqualTo("kept\nls: /etc/group: No such file or directory\nnew\n0\n");
            run(server, 3, "echo more > /etc/kept");
        }
        assertThat(frozen.resolve("etc/kept")).hasContent("kept");
        assertThat(rootfs.resolve("etc/group")).hasContent("root:x:0:\n");
    }

    @Test
    @DisplayName(
            "copy-layer of a file it cannot read: exit 125 naming the file and the read's own error (as uid 65534: EACCES), "
                    + "and the half-made target is gone")
    void copyLayerNamesTheUnreadableFile() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path layer = Files.createDirectories(tmp.resolve("layer/etc"));
        Files.setPosixFilePermissions(layer.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(layer, PosixFilePermissions.fromString("rwxr-xr-x"));
        // Readable siblings, some copied before the copy reaches the secret (directories read-only, as
        // copied: the cleanup must still empty them), and a symlink it must not follow when removing.
        for (int i = 0; i < 8; i++) {
            Path dir = Files.createDirectories(layer.getParent().resolve("dir" + i + "/sub"));
            Files.writeString(dir.resolve("file"), "f\n");
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-xr-xr-x"));
            Files.setPosixFilePermissions(dir.getParent(), PosixFilePermissions.fromString("r-xr-xr-x"));
        }
        Path kept = Files.writeString(tmp.resolve("kept"), "not the copy's\n");
        Files.createSymbolicLink(layer.getParent().resolve("link"), kept);
        Files.setPosixFilePermissions(
                Files.writeString(layer.resolve("secret"), "s\n"), PosixFilePermissions.fromString("---------"));
        Path out = Files.createDirectory(tmp.resolve("out"));
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path helper = HelperPaths.rootlessCopy(tmp);

        Process copy = new ProcessBuilder(
                        "setpriv",
                        "--reuid=65534",
                        "--regid=65534",
                        "--clear-groups",
                        helper.toString(),
                        "copy-layer",
                        layer.getParent().toString(),
                        out.resolve("frozen").toString())
                .redirectErrorStream(true)
                .start();
        String said = new String(copy.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(copy.waitFor()).as(said).isEqualTo(125);
        assertThat(said)
                .isEqualTo("isolated-helper: copy-layer: copy " + layer.getParent()
                        + " (at etc/secret): Permission denied\n" + "hint: every file of the layer must be readable\n");
        assertThat(out.resolve("frozen")).doesNotExist();
        try (Stream<Path> left = Files.list(out)) {
            assertThat(left).isEmpty();
        }
        assertThat(kept).hasContent("not the copy's");
        assertThat(layer.getParent().resolve("dir7/sub/file")).hasContent("f");
    }

    @Test
    @DisplayName("copy-layer refuses a target that exists, and never writes through a symlink there")
    void copyLayerRefusesExistingTarget() throws Exception {
        Path victim = Files.createDirectory(tmp.resolve("victim"));
        Files.createSymbolicLink(tmp.resolve("target"), victim);
        Process copy = new ProcessBuilder(
                        HelperPaths.helper().toString(),
                        "copy-layer",
                        rootfs.toString(),
                        tmp.resolve("target").toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(copy.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(copy.waitFor()).isEqualTo(125);
        assertThat(out).contains("copy-layer: mkdir " + tmp.resolve("target"), "the target must not exist");
        try (var entries = Files.list(victim)) {
            assertThat(entries).isEmpty();
        }
    }

    @Test
    @DisplayName("copy-layer refuses a target on overlayfs, where a whiteout would hide itself")
    void copyLayerRefusesOverlayfs() throws Exception {
        Path ovl = tmp.resolve("ovl");
        for (String d : List.of("l", "u", "w", "m")) {
            Files.createDirectories(ovl.resolve(d));
        }
        Process mount = new ProcessBuilder(
                        "mount",
                        "-t",
                        "overlay",
                        "overlay",
                        "-o",
                        "lowerdir=" + ovl.resolve("l") + ",upperdir=" + ovl.resolve("u") + ",workdir="
                                + ovl.resolve("w"),
                        ovl.resolve("m").toString())
                .inheritIO()
                .start();
        assertThat(mount.waitFor())
                .as("mount -t overlay (the tests run as root)")
                .isZero();
        try {
            Process copy = new ProcessBuilder(
                            HelperPaths.helper().toString(),
                            "copy-layer",
                            rootfs.toString(),
                            ovl.resolve("m/frozen").toString())
                    .redirectErrorStream(true)
                    .start();
            String out = new String(copy.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(copy.waitFor()).isEqualTo(125);
            assertThat(out).contains("copy-layer: statfs " + ovl.resolve("m/frozen"), "on overlayfs");
            assertThat(ovl.resolve("m/frozen")).doesNotExist();
        } finally {
            new ProcessBuilder("umount", ovl.resolve("m").toString())
                    .inheritIO()
                    .start()
                    .waitFor();
        }
    }

    @Test
    @DisplayName("bad values and a missing upper dir are errors with their stage; layers need the mount namespace")
    void errors() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            assertThat(server.request(CREATE, 1, "rootfs=" + rootfs, "ns=pid,mount", "upper-size=lots"))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "mount-rootfs");
            assertThat(server.request(
                            CREATE, 2, "rootfs=" + rootfs, "ns=pid,mount", "upper-dir=" + tmp.resolve("nope")))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "upper-dir");
            assertThat(server.request(CREATE, 3, "rootfs=" + rootfs, "ns=pid", "layer=" + rootfs))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "mount-rootfs");
            assertThat(server.request(CREATE, 4, "rootfs=" + rootfs, "ns=pid,mount", "layer=relative"))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "mount-rootfs");
        }
    }

    private static String run(ProtocolClient server, int id, String script) throws IOException {
        assertThat(server.request(SPAWN, id, "env=1", "arg=sh", "arg=-c", "arg=" + script))
                .hasType(SPAWNED);
        return server.stdoutUntilExit(id);
    }
}
