package dev.isolated.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.internal.image.CacheDirectory;
import dev.isolated.internal.image.RootfsImages;
import dev.isolated.internal.image.SafeTarUnpacker;
import dev.isolated.internal.image.UnpackLimits;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageBuilderTests {

    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final String LONG_NAME = "usr/share/" + "a-rather-long-directory-name/".repeat(4) + "file.txt";

    @TempDir
    Path dir;

    private String previousCacheProperty;

    /**
     * {@code from()} unpacks through the JVM's one image cache, whose directory is read once, at its first use:
     * that use comes first here, before the tests point {@code isolated.cache.dir} at a directory of their own
     * (for {@code build()}'s tars), which is deleted after each.
     */
    @BeforeAll
    static void useTheImageCacheFirst() {
        RootfsImages.unpacked("busybox.tar", ImageBuilderTests.class.getClassLoader());
    }

    @BeforeEach
    void useTemporaryCache() {
        previousCacheProperty =
                System.setProperty(CacheDirectory.PROPERTY, dir.resolve("cache").toString());
    }

    @AfterEach
    void restoreCache() {
        if (previousCacheProperty == null) {
            System.clearProperty(CacheDirectory.PROPERTY);
        } else {
            System.setProperty(CacheDirectory.PROPERTY, previousCacheProperty);
        }
    }

    @Test
    @DisplayName("what cannot be added is refused at once, naming it and why")
    void refusedAdditions() throws IOException {
        Path file = Files.writeString(dir.resolve("file.txt"), "x");
        assertThatThrownBy(() -> ImageBuilder.scratch().addFile(dir, "/x"))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("Cannot add " + dir + " to the image: it is not a regular file");
        assertThatThrownBy(() -> ImageBuilder.scratch().addDirectory(file, "/x"))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("Cannot add directory " + file + " to the image: it is not a directory");
        assertThatThrownBy(() -> ImageBuilder.scratch().symlink("/bin/sh", ""))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("The symlink /bin/sh needs a non-empty target");
        assertThatThrownBy(() -> ImageBuilder.scratch().mode("/nothing", 0755))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("Cannot set the mode of /nothing: nothing was added there yet");
        assertThatThrownBy(() -> ImageBuilder.scratch().symlink("/l", "x").mode("/l", 0755))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("Cannot set the mode of /l: it is a symlink");
        assertThatThrownBy(() -> ImageBuilder.scratch().addText("/", "x"))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("Cannot add '/': it names the image root, which is always a directory");
        assertThatThrownBy(() -> ImageBuilder.scratch().addText("/etc/../../x", "x"))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("Image path '/etc/../../x' must not contain '..' or NUL");
    }

    @Test
    @DisplayName("builds a FROM-scratch image with the host's static busybox that unpacks and runs")
    void scratchWithBusybox() throws Exception {
        Path tar = busyboxImage().build();

        assertThat(tar).startsWith(dir.resolve("cache/built")).hasFileName(sha256(Files.readAllBytes(tar)) + ".tar");
        assertThat(Files.getAttribute(dir.resolve("cache/built"), "unix:mode"))
                .as("built/ is as private as the rest of the cache")
                .isEqualTo(040700);
        Path rootfs = unpack(tar);
        assertThat(rootfs.resolve("bin/busybox")).hasSameBinaryContentAs(BUSYBOX);
        assertThat(Files.getAttribute(rootfs.resolve("bin/busybox"), "unix:mode"))
                .isEqualTo(0100755);
        assertThat(Files.readSymbolicLink(rootfs.resolve("bin/sh"))).hasToString("busybox");
        assertThat(rootfs.resolve("etc/motd")).hasContent("hello");
        assertThat(Files.getAttribute(rootfs.resolve("etc/secret"), "unix:mode"))
                .isEqualTo(0100600);
        assertThat(Files.getAttribute(rootfs.resolve("etc"), "unix:mode")).isEqualTo(040755);
        assertThat(rootfs.resolve(LONG_NAME)).hasContent("long");
        Process echo = new ProcessBuilder(rootfs.resolve("bin/busybox").toString(), "echo", "ran").start();
        assertThat(new String(echo.getInputStream().readAllBytes())).isEqualTo("ran\n");
        assertThat(echo.waitFor()).isZero();
    }

    @Test
    @DisplayName(
            "writeTar never replaces a host file: an existing file, or a symlink there, is refused and left as it was")
    void writeTarRefusesAnExistingTarget() throws IOException {
        Path existing = Files.writeString(dir.resolve("existing.tar"), "mine");
        Path canary = Files.writeString(dir.resolve("canary"), "canary");
        Path link = Files.createSymbolicLink(dir.resolve("link.tar"), canary);
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.tar"), dir.resolve("nowhere"));

        for (Path target : List.of(existing, link, dangling)) {
            assertThatThrownBy(() -> ImageBuilder.scratch().addText("/a", "a").writeTar(target))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasCauseInstanceOf(FileAlreadyExistsException.class)
                    .hasMessage("Cannot write the image tar " + target + ": it already exists; writeTar never "
                            + "replaces anything: delete it first or choose a path that does not exist");
        }
        assertThat(existing).hasContent("mine");
        assertThat(canary).hasContent("canary");
        assertThat(Files.readSymbolicLink(link)).isEqualTo(canary);
        assertThat(dir.resolve("nowhere")).doesNotExist();
        try (var names = Files.list(dir)) {
            assertThat(names.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("existing.tar", "canary", "link.tar", "dangling.tar");
        }
    }

    @Test
    @DisplayName(
            "a host file gone by the time the tar is written is named with its place in the image, not blamed on the tar or the cache")
    void unreadableHostFile() throws IOException {
        Path gone = Files.writeString(dir.resolve("gone.conf"), "x");
        ImageBuilder builder = ImageBuilder.scratch().addText("/etc/motd", "hi").addFile(gone, "/etc/app.conf");
        Files.delete(gone);
        String message = "Cannot read the host file " + gone.toAbsolutePath()
                + ", added to the image at /etc/app.conf: java.nio.file.NoSuchFileException: " + gone.toAbsolutePath();

        assertThatThrownBy(builder::build)
                .isInstanceOf(UncheckedIOException.class)
                .hasMessage(message);
        Path out = dir.resolve("out.tar");
        assertThatThrownBy(() -> builder.writeTar(out))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessage(message);
        assertThat(out).doesNotExist();
        try (var left = Files.list(dir.resolve("cache/built"))) {
            assertThat(left).as("no temporary tar is left in the cache").isEmpty();
        }
    }

    @Test
    @DisplayName(
            "a later call for a path replaces what is there, a directory with its contents, but a directory added where one is merges with it")
    void laterCallsForOnePath() throws IOException {
        Path first = Files.createDirectories(dir.resolve("first"));
        Files.writeString(first.resolve("one"), "1");
        Files.writeString(first.resolve("both"), "first");
        Path second = Files.createDirectories(dir.resolve("second"));
        Files.writeString(second.resolve("two"), "2");
        Files.writeString(second.resolve("both"), "second");
        Files.setPosixFilePermissions(second, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Path tar = dir.resolve("image.tar");

        ImageBuilder.scratch()
                .addDirectory(first, "/merged")
                .addDirectory(second, "/merged")
                .addDirectory(first, "/replaced")
                .addText("/replaced", "now a file")
                .addText("/file", "x")
                .addText("/file/below", "y")
                .writeTar(tar);

        java.util.Map<String, TarArchiveEntry> byName = new java.util.TreeMap<>();
        for (TarArchiveEntry entry : entries(tar)) {
            byName.put(entry.getName(), entry);
        }
        assertThat(byName.keySet())
                .containsExactly(
                        "file/", "file/below", "merged/", "merged/both", "merged/one", "merged/two", "replaced");
        assertThat(byName.get("merged/").getMode() & 07777)
                .as("the later directory's mode")
                .isEqualTo(0700);
        assertThat(byName.get("file/").getMode() & 07777).isEqualTo(0755);
        assertThat(byName.get("merged/both").getSize()).as("the later file").isEqualTo("second".length());
    }

    @Test
    @DisplayName(
            "a symlink given as the host file or directory is followed: its file's bits and content, its directory's entries")
    void symlinkGivenAsTheSource() throws IOException {
        Path file = Files.writeString(dir.resolve("app.conf"), "port=80\n");
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
        Path fileLink = Files.createSymbolicLink(dir.resolve("current.conf"), file.getFileName());
        Path directory = Files.createDirectories(dir.resolve("conf.d-1"));
        Files.writeString(directory.resolve("a.conf"), "a=1");
        Files.createSymbolicLink(directory.resolve("b.conf"), Path.of("a.conf"));
        Path directoryLink = Files.createSymbolicLink(dir.resolve("conf.d"), directory.getFileName());
        Path tar = dir.resolve("image.tar");

        ImageBuilder.scratch()
                .addFile(fileLink, "/etc/app.conf")
                .addDirectory(directoryLink, "/etc/conf.d")
                .writeTar(tar);

        java.util.Map<String, TarArchiveEntry> byName = new java.util.TreeMap<>();
        for (TarArchiveEntry entry : entries(tar)) {
            byName.put(entry.getName(), entry);
        }
        assertThat(byName.keySet())
                .containsExactly("etc/", "etc/app.conf", "etc/conf.d/", "etc/conf.d/a.conf", "etc/conf.d/b.conf");
        assertThat(byName.get("etc/app.conf").isFile()).isTrue();
        assertThat(byName.get("etc/app.conf").getMode() & 07777)
                .as("the file's bits, not the link's 0777")
                .isEqualTo(0640);
        assertThat(byName.get("etc/app.conf").getSize()).isEqualTo("port=80\n".length());
        assertThat(byName.get("etc/conf.d/b.conf").isSymbolicLink())
                .as("links below it stay links")
                .isTrue();
        assertThat(byName.get("etc/conf.d/b.conf").getLinkName()).isEqualTo("a.conf");
    }

    @Test
    @DisplayName("addDirectory adds a FIFO as a FIFO and leaves a socket out")
    void fifoAndSocketBelowADirectory() throws Exception {
        Path host = Files.createDirectories(dir.resolve("run"));
        Process mkfifo = new ProcessBuilder("mkfifo", host.resolve("pipe").toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        Path tar = dir.resolve("image.tar");
        try (java.nio.channels.ServerSocketChannel socket =
                java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            socket.bind(java.net.UnixDomainSocketAddress.of(host.resolve("socket")));
            ImageBuilder.scratch().addDirectory(host, "/run").writeTar(tar);
        }

        List<String> names = new ArrayList<>();
        for (TarArchiveEntry entry : entries(tar)) {
            names.add(entry.getName() + (entry.isFIFO() ? " (fifo)" : ""));
        }
        assertThat(names).containsExactly("run/", "run/pipe (fifo)");
    }

    @Test
    @DisplayName("is reproducible: the same inputs give the same bytes, sorted, owned by root, with one mtime")
    void reproducible() throws IOException {
        Path first = dir.resolve("first.tar");
        Path second = dir.resolve("second.tar");
        busyboxImage().writeTar(first);
        busyboxImage().writeTar(second);

        assertThat(first).hasSameBinaryContentAs(second);
        List<String> names = new ArrayList<>();
        for (TarArchiveEntry entry : entries(first)) {
            names.add(entry.getName());
            assertThat(entry.getLongUserId()).isZero();
            assertThat(entry.getLongGroupId()).isZero();
            assertThat(entry.getLastModifiedDate().getTime()).isZero();
        }
        assertThat(names).isSorted().contains("bin/", "bin/busybox", "etc/motd", LONG_NAME);

        Path later = dir.resolve("later.tar");
        busyboxImage().modificationTime(Instant.parse("2024-01-01T00:00:00Z")).writeTar(later);
        assertThat(Files.readAllBytes(later)).isNotEqualTo(Files.readAllBytes(first));
    }

    @Test
    @DisplayName("starts from another image, keeping its files and hardlinks, and adds to it")
    void fromAnotherImage() throws IOException {
        Path base = dir.resolve("base.tar");
        Path hostDirectory = Files.createDirectories(dir.resolve("host/conf.d"));
        Files.writeString(hostDirectory.resolve("a.conf"), "a=1");
        Files.createSymbolicLink(hostDirectory.resolve("link"), Path.of("a.conf"));
        busyboxImage().writeTar(base);

        Path tar = dir.resolve("derived.tar");
        ImageBuilder.from(base.toString())
                .addText("/etc/motd", "replaced")
                .addDirectory(dir.resolve("host"), "/etc/app")
                .addFile(hostDirectory.resolve("a.conf"), "/opt/a.conf")
                .writeTar(tar);

        Path rootfs = unpack(tar);
        assertThat(rootfs.resolve("bin/busybox")).hasSameBinaryContentAs(BUSYBOX);
        assertThat(rootfs.resolve("etc/motd")).hasContent("replaced");
        assertThat(rootfs.resolve("etc/app/conf.d/a.conf")).hasContent("a=1");
        assertThat(Files.readSymbolicLink(rootfs.resolve("etc/app/conf.d/link")))
                .hasToString("a.conf");
        assertThat(rootfs.resolve("opt/a.conf")).hasContent("a=1");
    }

    @Test
    @DisplayName("finds and unpacks its base as @Isolated does: in the JVM's one image cache, remembered for the run")
    void fromThroughTheImageCache() throws IOException {
        Path base = dir.resolve("base.tar");
        busyboxImage().addText("/etc/motd", "base").writeTar(base);

        ImageBuilder.from(base.toString());

        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        Path unpacked = RootfsImages.unpacked(base.toString(), loader);
        assertThat(unpacked.resolve("etc/motd")).hasContent("base");
        assertThat(unpacked.getParent().getParent())
                .as("the images directory of the JVM's cache, as busybox.tar's")
                .isEqualTo(RootfsImages.unpacked("busybox.tar", ImageBuilderTests.class.getClassLoader())
                        .getParent()
                        .getParent());
        assertThat(dir.resolve("cache/images"))
                .as("no second cache where isolated.cache.dir points now")
                .doesNotExist();
    }

    @Test
    @DisplayName("keeps files that are hardlinked in the base image hardlinked")
    void hardlinks() throws IOException {
        Path base = dir.resolve("base-dir");
        Files.createDirectories(base.resolve("bin"));
        Files.writeString(base.resolve("bin/tool"), "tool");
        Files.createLink(base.resolve("bin/alias"), base.resolve("bin/tool"));
        Path tar = dir.resolve("linked.tar");

        ImageBuilder.from(base.toString()).writeTar(tar);

        // Entries are sorted, so the first name holds the content and the later one links to it.
        TarArchiveEntry tool = entries(tar).stream()
                .filter(e -> e.getName().equals("bin/tool"))
                .findFirst()
                .orElseThrow();
        assertThat(tool.isLink()).isTrue();
        assertThat(tool.getLinkName()).isEqualTo("bin/alias");
        Path rootfs = unpack(tar);
        assertThat(Files.getAttribute(rootfs.resolve("bin/tool"), "unix:ino"))
                .isEqualTo(Files.getAttribute(rootfs.resolve("bin/alias"), "unix:ino"));
    }

    @Test
    @DisplayName("refuses a dynamically linked binary, naming the file and its loader")
    void dynamicBinaryRefused() {
        Path dynamic = Path.of("/bin/ls");

        assertThatThrownBy(() -> ImageBuilder.scratch().addStaticBinary(dynamic, "/bin/ls"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(dynamic + " is dynamically linked (it needs the loader /lib")
                .hasMessageContaining("Link it with -static");
    }

    @Test
    @DisplayName("refuses '..' in image paths, a mode for nothing or a symlink, a symlink to nothing, a directory "
            + "that is a file, and non-ELF static binaries")
    void misuse() throws IOException {
        Path text = Files.writeString(dir.resolve("script"), "#!/bin/sh\n");

        assertThatThrownBy(() -> ImageBuilder.scratch().addText("../etc/passwd", "x"))
                .hasMessage("Image path '../etc/passwd' must not contain '..' or NUL");
        assertThatThrownBy(() -> ImageBuilder.scratch().mode("/bin/sh", 0755))
                .hasMessage("Cannot set the mode of /bin/sh: nothing was added there yet");
        assertThatThrownBy(() ->
                        ImageBuilder.scratch().symlink("/bin/sh", "busybox").mode("bin/sh", 0755))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Cannot set the mode of /bin/sh: it is a symlink");
        assertThatThrownBy(() -> ImageBuilder.scratch().symlink("/bin/sh", ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("The symlink /bin/sh needs a non-empty target");
        assertThatThrownBy(() -> ImageBuilder.scratch().addDirectory(text, "/etc"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Cannot add directory " + text + " to the image: it is not a directory");
        assertThatThrownBy(() -> ImageBuilder.scratch().addStaticBinary(text, "/bin/script"))
                .hasMessage(text + " is not an ELF executable (no \\177ELF magic)");
    }

    @Test
    @DisplayName("an image it cannot find, or a cache directory of another user, is an ImageException naming it")
    void imageExceptions() throws IOException {
        assertThatThrownBy(() -> ImageBuilder.from("no-such-base-image.tar"))
                .isInstanceOf(ImageException.class)
                .hasMessageStartingWith("Image 'no-such-base-image.tar' not found. Tried:");

        Path foreign = Files.createDirectory(dir.resolve("foreign"));
        Files.setAttribute(foreign, "unix:uid", 65534);
        System.setProperty(CacheDirectory.PROPERTY, foreign.toString());
        assertThatThrownBy(() -> ImageBuilder.scratch().addText("/a", "a").build())
                .isInstanceOf(ImageException.class)
                .hasMessageStartingWith("The directory of the image cache, " + foreign + ", is owned by uid 65534")
                .hasMessageContaining("-Disolated.cache.dir");
        assertThat(foreign).isEmptyDirectory();
    }

    @Test
    @DisplayName("a cache setting that is not valid is an ImageException naming it (in a fresh JVM, whose cache it "
            + "sets up); a pull setting is not read, as ImageBuilder takes no image names")
    void settingsThatAreNotValid() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(
                        java,
                        "-D" + CacheDirectory.PROPERTY + "=" + dir.resolve("fresh-cache"),
                        "-Disolated.cache.maxBytes=lots",
                        "-cp",
                        System.getProperty("java.class.path"),
                        BuildFromBusybox.class.getName())
                .redirectErrorStream(true)
                .start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor()).as(out).isZero();
        assertThat(out)
                .isEqualTo("dev.isolated.internal.image.ImageSettingsException, an ImageException: Configuration "
                        + "parameter isolated.cache.maxBytes must be a number of bytes, 0 (never prune) or more, got "
                        + "'lots'\n");

        System.setProperty("isolated.pull", "sometimes");
        try {
            assertThat(ImageBuilder.from("busybox.tar").addText("/x", "y").build())
                    .isRegularFile();
        } finally {
            System.clearProperty("isolated.pull");
        }
    }

    /** Builds on busybox.tar in a fresh JVM; prints the exception it gets, if any. */
    static final class BuildFromBusybox {
        public static void main(String[] args) {
            try {
                System.out.println("built " + ImageBuilder.from("busybox.tar").build());
            } catch (ImageException e) {
                System.out.println(e.getClass().getName() + ", an ImageException: " + e.getMessage());
            }
        }
    }

    private static ImageBuilder busyboxImage() {
        return ImageBuilder.scratch()
                .addText("/etc/secret", "s")
                .addStaticBinary(BUSYBOX, "/bin/busybox")
                .symlink("/bin/sh", "busybox")
                .addText("etc/motd", "hello")
                .mode("/etc/secret", 0600)
                .addText(LONG_NAME, "long");
    }

    private Path unpack(Path tar) throws IOException {
        Path rootfs = Files.createTempDirectory(dir, "rootfs");
        try (InputStream in = Files.newInputStream(tar)) {
            new SafeTarUnpacker(UnpackLimits.defaults()).unpack(in, tar.toString(), rootfs);
        }
        assertThat(rootfs.resolve("bin"))
                .satisfies(bin -> assertThat(Files.isDirectory(bin, LinkOption.NOFOLLOW_LINKS))
                        .isTrue());
        return rootfs;
    }

    private static List<TarArchiveEntry> entries(Path tar) throws IOException {
        List<TarArchiveEntry> entries = new ArrayList<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tar))) {
            for (TarArchiveEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                entries.add(entry);
                in.transferTo(new ByteArrayOutputStream());
            }
        }
        return entries;
    }

    private static String sha256(byte[] bytes) throws Exception {
        return java.util.HexFormat.of()
                .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
