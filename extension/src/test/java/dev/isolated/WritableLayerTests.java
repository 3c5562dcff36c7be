package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.isolated.internal.env.LayerDirectories;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("the writable layer: a tmpfs of a documented size, or a directory on disk")
class WritableLayerTests {

    private static IsolatedEnvironmentBuilder busybox(Map<String, String> configuration) {
        return IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .configuration(key -> Optional.ofNullable(configuration.get(key))
                        .or(() -> Optional.ofNullable(System.getProperty(key))));
    }

    private static long oneKBlocksOfRoot(IsolatedEnvironment env) {
        String[] row = env.exec("df", "-k", "/")
                .stdout()
                .lines()
                .skip(1)
                .findFirst()
                .orElseThrow()
                .trim()
                .split("\\s+");
        return Long.parseLong(row[1]);
    }

    @Test
    @DisplayName("by default the tmpfs is 50% of RAM, as README says (df inside)")
    void defaultTmpfsSize() throws IOException {
        long memTotalKb = Files.readAllLines(Paths.get("/proc/meminfo")).stream()
                .filter(l -> l.startsWith("MemTotal:"))
                .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")))
                .findFirst()
                .orElseThrow();
        try (IsolatedEnvironment env = busybox(Map.of()).start()) {
            assertThat(oneKBlocksOfRoot(env)).isCloseTo(memTotalKb / 2, within(4L));
            assertThat(env.exec("sh", "-c", "grep ' / ' /proc/self/mounts"))
                    .stdout()
                    .startsWith("overlay / overlay");
        }
    }

    @Test
    @DisplayName(
            "tmpfsSize, the configuration key and @WritableLayer set the tmpfs's size; a write beyond it fails with ENOSPC")
    void tmpfsSizeIsSettable() {
        try (IsolatedEnvironment env = busybox(Map.of()).tmpfsSize("16m").start()) {
            assertThat(oneKBlocksOfRoot(env)).isEqualTo(16384);
            assertThat(env.exec("dd", "if=/dev/zero", "of=/big", "bs=1M", "count=32"))
                    .failed()
                    .stderr()
                    .contains("No space left on device");
            assertThat(env.exec("dd", "if=/dev/zero", "of=/tmp/big", "bs=1M", "count=32"))
                    .as("/tmp is a tmpfs of its own, outside the writable layer and its size")
                    .succeeded();
        }
        try (IsolatedEnvironment env =
                busybox(Map.of(IsolatedConfiguration.LAYER_TMPFS_SIZE, "32m")).start()) {
            assertThat(oneKBlocksOfRoot(env)).isEqualTo(32768);
        }
        var results = EngineRunner.run(AnnotatedSizeTestCase.class, Map.of());
        results.testEvents().assertStatistics(stats -> stats.succeeded(1));
    }

    @Test
    @DisplayName("a size that is none is refused with the forms it may take")
    void badSize() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder().tmpfsSize("lots"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tmpfsSize \"lots\" is not a size: write bytes with an optional k, m or g suffix (512m) or "
                        + "a percentage of RAM from 1% to 100% (25%)");
        assertThatThrownBy(() -> busybox(Map.of(IsolatedConfiguration.LAYER_STORAGE, "ssd"))
                        .start())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("isolated.layer.storage=ssd is not a layer storage: write tmpfs or disk");
    }

    @Test
    @DisplayName("a size that is none, from @WritableLayer or the configuration, names where it came from")
    void badSizeFromAnnotationOrConfiguration() {
        String rule = "tmpfsSize \"lots\" is not a size: write bytes with an optional k, m or g suffix (512m) or a "
                + "percentage of RAM from 1% to 100% (25%)";
        assertThat(failure(EngineRunner.run(BadAnnotatedSizeTestCase.class, Map.of())))
                .hasMessage("@WritableLayer(tmpfsSize = ...): " + rule);
        assertThat(failure(EngineRunner.run(
                        UnsizedTestCase.class, Map.of(IsolatedConfiguration.LAYER_TMPFS_SIZE, "lots"))))
                .hasMessage("isolated.layer." + rule);
        assertThatThrownBy(() -> IsolatedEnvironment.builder().tmpfsSize("0%"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> IsolatedEnvironment.builder().tmpfsSize("101%"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    @DisplayName(
            "a size's suffix may be upper case; one above 2^62 bytes is refused before the start, not by the helper")
    void sizeBounds() {
        try (IsolatedEnvironment env = busybox(Map.of()).tmpfsSize("16M").start()) {
            assertThat(oneKBlocksOfRoot(env)).isEqualTo(16384);
        }
        IsolatedEnvironment.builder().tmpfsSize("4611686018427387904");
        try (IsolatedEnvironment env =
                busybox(Map.of()).tmpfsSize("4294967296g").start()) {
            assertThat(oneKBlocksOfRoot(env)).isEqualTo(1L << 52);
        }
        assertThatThrownBy(() -> IsolatedEnvironment.builder().tmpfsSize("4611686018427387905"))
                .hasMessage("tmpfsSize \"4611686018427387905\" is too large: at most 4294967296g (2^62 bytes)");
        assertThatThrownBy(() -> IsolatedEnvironment.builder().tmpfsSize("9999999999999999999"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> IsolatedEnvironment.builder().tmpfsSize("5000000000g"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tmpfsSize \"5000000000g\" is too large: at most 4294967296g (2^62 bytes)");
        assertThatThrownBy(() -> busybox(Map.of(IsolatedConfiguration.LAYER_TMPFS_SIZE, "999999999999999999G"))
                        .start())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("isolated.layer.tmpfsSize \"999999999999999999G\" is too large: at most 4294967296g "
                        + "(2^62 bytes)");
    }

    private static Throwable failure(org.junit.platform.testkit.engine.EngineExecutionResults results) {
        return results.testEvents().failed().stream()
                .map(e -> e.getPayload(org.junit.platform.engine.TestExecutionResult.class)
                        .orElseThrow()
                        .getThrowable()
                        .orElseThrow())
                .findFirst()
                .orElseThrow();
    }

    @Isolated(rootfs = "busybox.tar")
    @WritableLayer(tmpfsSize = "lots")
    static class BadAnnotatedSizeTestCase {
        @Test
        void sized(IsolatedEnvironment env) {}
    }

    @Isolated(rootfs = "busybox.tar")
    static class UnsizedTestCase {
        @Test
        void unsized(IsolatedEnvironment env) {}
    }

    @Test
    @DisplayName("without MOUNT (a chroot; as root into an overlay the helper mounts outside it) a tmpfsSize or a disk "
            + "layer asked for fails at stage mount-rootfs; with neither, writes work and freeze() keeps them")
    void withoutMountNamespace(@TempDir Path dir) {
        Map<String, String> layerDir = Map.of(IsolatedConfiguration.LAYER_DIR, dir.toString());
        for (IsolatedEnvironmentBuilder asked : List.of(
                busybox(layerDir).namespaces(LinuxNamespace.PID).tmpfsSize("16m"),
                busybox(layerDir).namespaces(LinuxNamespace.PID).writableLayer(LayerStorage.DISK),
                busybox(Map.of(IsolatedConfiguration.LAYER_TMPFS_SIZE, "16m")).namespaces(LinuxNamespace.PID),
                busybox(Map.of(
                                IsolatedConfiguration.LAYER_DIR,
                                dir.toString(),
                                IsolatedConfiguration.LAYER_STORAGE,
                                "disk"))
                        .namespaces(LinuxNamespace.PID))) {
            assertThatThrownBy(asked::start).isInstanceOfSatisfying(EnvironmentSetupException.class, e -> {
                assertThat(e.stage()).isEqualTo("mount-rootfs");
                assertThat(e.hint()).isEqualTo("layers, upper-dir and upper-size need the mount namespace");
            });
        }
        FrozenState state;
        try (IsolatedEnvironment chroot =
                busybox(Map.of()).namespaces(LinuxNamespace.PID).start()) {
            chroot.writeString("/written", "in the chroot\n");
            assertThat(chroot.exec("cat", "/written")).stdout().isEqualTo("in the chroot\n");
            state = chroot.freeze();
        }
        try (IsolatedEnvironment env = IsolatedEnvironment.builder().from(state).start()) {
            assertThat(env.exec("cat", "/written")).stdout().isEqualTo("in the chroot\n");
        }
    }

    @Test
    @DisplayName(
            "a disk layer holds more than the tmpfs would, lives in a 0700 directory of its own, and is gone after close")
    void diskLayer(@TempDir Path dir) throws IOException {
        Path root = dir.resolve("layers");
        try (IsolatedEnvironment env = busybox(Map.of(IsolatedConfiguration.LAYER_DIR, root.toString()))
                .writableLayer(LayerStorage.DISK)
                .tmpfsSize("16m")
                .start()) {
            assertThat(env.exec("dd", "if=/dev/zero", "of=/big", "bs=1M", "count=48"))
                    .succeeded();
            assertThat(env.exec("sh", "-c", "ls -l /big | awk '{print $5}'"))
                    .stdout()
                    .isEqualTo("50331648\n");
            List<Path> layers = diskLayers(root);
            assertThat(layers).hasSize(1);
            assertThat(Files.getAttribute(layers.get(0), "unix:mode", LinkOption.NOFOLLOW_LINKS))
                    .isEqualTo(040700);
            assertThat(layers.get(0).resolve("upper/big")).hasSize(48L << 20);
        }
        assertThat(diskLayers(root)).isEmpty();
    }

    @Test
    @DisplayName("an isolated.layer.dir of another user, a link or a file is refused naming it, its owner and the key; "
            + "nothing is made in it")
    void layerDirectoryNotOurs(@TempDir Path dir) throws IOException {
        Path other = Files.createDirectory(dir.resolve("other"));
        Files.setAttribute(other, "unix:uid", 65534);
        Path link = Files.createSymbolicLink(dir.resolve("link"), Files.createDirectory(dir.resolve("real")));
        for (Path layers : List.of(other, link)) {
            assertThatThrownBy(() -> busybox(Map.of(IsolatedConfiguration.LAYER_DIR, layers.toString()))
                            .writableLayer(LayerStorage.DISK)
                            .start())
                    .isInstanceOf(IsolatedException.class)
                    .hasMessage("The directory of disk-backed writable layers and frozen states, " + layers + ", is "
                            + (layers == other ? "owned by uid 65534" : "not a directory")
                            + ": another user could replace what is in it before it runs. Use a directory of uid "
                            + Files.getAttribute(Path.of("/proc/self"), "unix:uid")
                            + ": set -Disolated.layer.dir=<a directory of yours>.");
        }
        try (Stream<Path> inOther = Files.list(other);
                Stream<Path> inReal = Files.list(dir.resolve("real"))) {
            assertThat(inOther).isEmpty();
            assertThat(inReal).isEmpty();
        }
    }

    @Test
    @DisplayName("the configuration key makes every environment's layer a disk one")
    void diskByConfiguration(@TempDir Path dir) throws IOException {
        Path root = dir.resolve("layers");
        try (IsolatedEnvironment env = busybox(Map.of(
                        IsolatedConfiguration.LAYER_DIR, root.toString(), IsolatedConfiguration.LAYER_STORAGE, "disk"))
                .start()) {
            env.writeString("/file", "on disk\n");
            assertThat(diskLayers(root))
                    .singleElement()
                    .satisfies(layer ->
                            assertThat(layer.resolve("upper/file")).content().isEqualTo("on disk\n"));
        }
    }

    @Test
    @DisplayName(
            "hostile: symlinks, a 000 directory and a deep tree planted in a disk layer never make its removal touch the host")
    void removalFollowsNoSymlink(@TempDir Path dir) throws IOException {
        Path victim = Files.createDirectories(dir.resolve("victim"));
        Files.createDirectories(victim.resolve("sub"));
        Files.writeString(victim.resolve("keep"), "host file\n");
        Path root = dir.resolve("layers");
        try (IsolatedEnvironment env = busybox(Map.of(IsolatedConfiguration.LAYER_DIR, root.toString()))
                .writableLayer(LayerStorage.DISK)
                .start()) {
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "ln -s " + victim + " /to-host-dir && ln -s " + victim.resolve("keep")
                                    + " /to-host-file && mkdir -p /d/e && ln -s ../../../../../../.. /d/e/up && ln -s "
                                    + dir
                                    + " /d/tmpdir && mkdir /locked && touch /locked/x && chmod 000 /locked && "
                                    + "mkdir -p /deep/a/b/c/d/e/f/g/h && ln -s / /deep/a/b/c/root"))
                    .succeeded();
        }
        assertThat(diskLayers(root)).isEmpty();
        assertThat(victim.resolve("keep")).content().isEqualTo("host file\n");
        assertThat(victim.resolve("sub")).isDirectory();
    }

    @Test
    @DisplayName(
            "a JVM killed before it could clean up leaves its layer directory; the next JVM that uses the directory removes it")
    void sweptAfterSigkill(@TempDir Path dir) throws IOException, InterruptedException {
        Path root = dir.resolve("layers");
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(
                        java,
                        "-D" + IsolatedConfiguration.LAYER_DIR + "=" + root,
                        "-cp",
                        System.getProperty("java.class.path"),
                        DiskLayerThenHalt.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor()).as(out).isEqualTo(9);
        assertThat(out).startsWith("wrote ");
        Path left = Path.of(out.substring("wrote ".length()).strip());
        assertThat(left).startsWith(root).exists();

        LayerDirectories.in(root, "test");

        assertThat(left).doesNotExist();
        try (Stream<Path> children = Files.list(root)) {
            assertThat(children.filter(p -> p.getFileName().toString().startsWith("jvm-")))
                    .hasSize(1);
        }
    }

    /** The disk layers in this JVM's directory under {@code root}. */
    static List<Path> diskLayers(Path root) throws IOException {
        List<Path> found = new ArrayList<>();
        try (Stream<Path> jvms = Files.list(root)) {
            for (Path jvm : jvms.toList()) {
                try (Stream<Path> children = Files.list(jvm)) {
                    children.filter(p -> p.getFileName().toString().startsWith("upper-"))
                            .forEach(found::add);
                }
            }
        }
        return found;
    }

    /** A child JVM: an environment with a disk layer, a file written, then killed as SIGKILL would (no cleanup). */
    public static final class DiskLayerThenHalt {
        public static void main(String[] args) throws IOException {
            Path root = Path.of(System.getProperty(IsolatedConfiguration.LAYER_DIR));
            IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .writableLayer(LayerStorage.DISK)
                    .start();
            env.writeString("/file", "x\n");
            System.out.println("wrote " + diskLayers(root).get(0));
            System.out.flush();
            Runtime.getRuntime().halt(9);
        }
    }

    @Isolated(rootfs = "busybox.tar")
    @WritableLayer(tmpfsSize = "8m")
    static class AnnotatedSizeTestCase {
        @Test
        void sized(IsolatedEnvironment env) {
            assertThat(oneKBlocksOfRoot(env)).isEqualTo(8192);
        }
    }
}
