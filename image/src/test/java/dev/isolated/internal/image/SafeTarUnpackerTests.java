package dev.isolated.internal.image;

import static dev.isolated.internal.image.TestTars.tar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SafeTarUnpackerTests {

    private static final String IMAGE = "test.tar";

    @TempDir
    Path base;

    /** The unpack target. */
    Path root;

    /** A directory next to the target that no entry may reach. */
    Path outside;

    @BeforeEach
    void createDirectories() throws IOException {
        root = Files.createDirectory(base.resolve("root"));
        outside = Files.createDirectory(base.resolve("outside"));
        Files.writeString(outside.resolve("sentinel"), "untouched");
    }

    @Test
    @DisplayName("unpacks files, directories, symlinks verbatim, hardlinks, modes, owners and mtimes")
    void plainTar() throws IOException {
        UnpackResult result = unpack(sampleImage().bytes());

        assertSampleImage();
        assertThat(result.entries()).isEqualTo(9);
        assertThat(result.bytes()).isEqualTo("root:x:0:0::/root:/bin/sh\n".length() + "#!/bin/sh\n".length() + 6);
    }

    @Test
    @DisplayName("owners are as the tar says, also where the kernel gives new files another group (a set-gid root)")
    void ownersUnderASetGidRoot() throws IOException {
        Files.setAttribute(root, "unix:gid", 4321);
        Files.setAttribute(root, "unix:mode", 02755); // new files and directories below get group 4321
        unpack(tar().file("first", 0644, "root's")
                .symlink("link", "first")
                .owned("theirs", 1234, 5678, "theirs")
                .file("dir/second", 0644, "root's too")
                .bytes());

        for (String path : new String[] {"first", "link", "dir/second"}) {
            assertThat(Files.getAttribute(root.resolve(path), "unix:uid", LinkOption.NOFOLLOW_LINKS))
                    .as(path)
                    .isEqualTo(0);
            assertThat(Files.getAttribute(root.resolve(path), "unix:gid", LinkOption.NOFOLLOW_LINKS))
                    .as(path)
                    .isEqualTo(0);
        }
        assertThat(Files.getAttribute(root.resolve("theirs"), "unix:uid")).isEqualTo(1234);
        assertThat(Files.getAttribute(root.resolve("theirs"), "unix:gid")).isEqualTo(5678);
    }

    @Test
    @DisplayName("unpacks xz- and zstd-compressed tars, told by their magic bytes")
    void xzAndZstdTars() throws IOException {
        unpack(TestTars.xz(sampleImage().bytes()), "xz-without-suffix");
        assertSampleImage();
        Path second = Files.createDirectory(base.resolve("second"));
        new SafeTarUnpacker(UnpackLimits.defaults())
                .unpack(new ByteArrayInputStream(TestTars.zstd(sampleImage().bytes())), "zstd-without-suffix", second);
        assertThat(second.resolve("etc/passwd")).hasContent("root:x:0:0::/root:/bin/sh");
    }

    @Test
    @DisplayName("unpacks a gzip-compressed tar, told by its magic bytes, not its name")
    void gzipTar() throws IOException {
        unpack(sampleImage().gzipped(), "image-without-suffix");

        assertSampleImage();
    }

    private static TestTars sampleImage() {
        return tar().directory("./", 0755)
                .directory("etc", 0755)
                .file("etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\n")
                .file("bin/busybox", 04755, "#!/bin/sh\n")
                .hardlink("bin/ls", "bin/busybox")
                .symlink("bin/sh", "busybox")
                .symlink("etc/host-passwd", "/etc/passwd/")
                .owned("home/user/secret", 1234, 5678, "secret")
                .fifo("run/fifo", 0620);
    }

    private void assertSampleImage() throws IOException {
        assertThat(root.resolve("etc/passwd")).hasContent("root:x:0:0::/root:/bin/sh");
        assertThat(mode(root.resolve("etc/passwd"))).isEqualTo(0644);
        assertThat(mode(root.resolve("bin/busybox"))).as("set-uid kept as root").isEqualTo(04755);
        assertThat(Files.isSameFile(root.resolve("bin/ls"), root.resolve("bin/busybox")))
                .isTrue();
        assertThat(Files.getAttribute(root.resolve("bin/busybox"), "unix:nlink"))
                .isEqualTo(2);
        assertThat(Files.readSymbolicLink(root.resolve("bin/sh"))).hasToString("busybox");
        assertThat(PosixReadlink.read(root.resolve("etc/host-passwd")))
                .as("stored verbatim")
                .isEqualTo("/etc/passwd/");
        assertThat(Files.getAttribute(root.resolve("home/user/secret"), "unix:uid"))
                .isEqualTo(1234);
        assertThat(Files.getAttribute(root.resolve("home/user/secret"), "unix:gid"))
                .isEqualTo(5678);
        assertThat(mode(root.resolve("run/fifo"))).isEqualTo(0620);
        assertThat(((Integer) Files.getAttribute(root.resolve("run/fifo"), "unix:mode", LinkOption.NOFOLLOW_LINKS))
                        & 0170000)
                .as("S_IFIFO")
                .isEqualTo(0010000);
        assertThat(Files.getLastModifiedTime(root.resolve("etc/passwd"))).isEqualTo(FileTime.from(TestTars.MTIME));
        assertThat(Files.getLastModifiedTime(root.resolve("etc")))
                .as("directory mtime set last")
                .isEqualTo(FileTime.from(TestTars.MTIME));
        assertThat(Files.getLastModifiedTime(root.resolve("bin/sh"), LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(FileTime.from(TestTars.MTIME));
        assertThat(mode(root.resolve("home"))).as("implicit parent").isEqualTo(0755);
    }

    @Nested
    @DisplayName("refuses entries that would escape the root")
    class Escapes {

        static Stream<Arguments> escapes() {
            return Stream.of(
                    Arguments.of(
                            "name climbing out with ..",
                            (Attack) (t, outside) -> t.file("../outside/x", "pwned"),
                            "../outside/x",
                            "climbs out of the rootfs"),
                    Arguments.of(
                            "absolute name",
                            (Attack) (t, outside) -> t.file(outside + "/x", "pwned"),
                            "/outside/x",
                            "is absolute"),
                    Arguments.of(
                            "absolute /etc name",
                            (Attack) (t, outside) -> t.file("/etc/isolated-escape-test", "pwned"),
                            "/etc/isolated-escape-test",
                            "is absolute"),
                    Arguments.of(
                            "name climbing out after normalisation",
                            (Attack) (t, outside) -> t.file("a/../../outside/x", "x"),
                            "a/../../outside/x",
                            "climbs out"),
                    Arguments.of(
                            "write through a symlink to /",
                            (Attack) (t, outside) -> t.symlink("evil", "/").file("evil" + outside + "/x", "pwned"),
                            "evil" + "/",
                            "through the symlink 'evil'"),
                    Arguments.of(
                            "write through a symlink to ..",
                            (Attack) (t, outside) -> t.symlink("up", "..").file("up/outside/x", "pwned"),
                            "up/outside/x",
                            "through the symlink 'up' (-> '..')"),
                    Arguments.of(
                            "directory through a symlink",
                            (Attack) (t, outside) ->
                                    t.symlink("evil", outside.toString()).directory("evil/sub", 0755),
                            "evil/sub/",
                            "through the symlink 'evil'"),
                    Arguments.of(
                            "deep write through a nested symlink",
                            (Attack) (t, outside) -> t.directory("a", 0755)
                                    .symlink("a/b", "../..")
                                    .file("a/b/outside/x", "pwned"),
                            "a/b/outside/x",
                            "through the symlink 'a/b'"),
                    Arguments.of(
                            "hardlink to /etc/passwd",
                            (Attack) (t, outside) -> t.hardlink("passwd", "/etc/passwd"),
                            "'passwd'",
                            "hardlink target '/etc/passwd' is absolute"),
                    Arguments.of(
                            "hardlink out of the root via ..",
                            (Attack) (t, outside) -> t.hardlink("x", "../outside/sentinel"),
                            "'x'",
                            "climbs out"),
                    Arguments.of(
                            "hardlink to an entry not yet extracted",
                            (Attack) (t, outside) -> t.hardlink("x", "later").file("later", "x"),
                            "'x'",
                            "not a file extracted before it"),
                    Arguments.of(
                            "hardlink read through a symlink",
                            (Attack) (t, outside) -> t.file("f", "x")
                                    .symlink("d", outside.toString())
                                    .hardlink("x", "d/sentinel"),
                            "'x'",
                            "not a file extracted before it"));
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("escapes")
        void rejected(String description, Attack attack, String namedInMessage, String reason) throws IOException {
            byte[] archive = attack.build(tar(), outside).bytes();

            assertThatThrownBy(() -> unpack(archive))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("Image " + IMAGE)
                    .hasMessageContaining(namedInMessage)
                    .hasMessageContaining(reason);
            assertNothingOutside();
            assertThat(Path.of("/etc/isolated-escape-test")).doesNotExist();
        }
    }

    /** Builds a malicious archive given the directory it tries to reach. */
    @FunctionalInterface
    interface Attack {
        TestTars build(TestTars tar, Path outside);
    }

    @Test
    @DisplayName("replaces an existing symlink instead of writing through it")
    void replacesSymlinkWithFile() throws IOException {
        unpack(tar().symlink("link", outside.resolve("sentinel").toString())
                .file("link", "inside")
                .bytes());

        assertThat(Files.isSymbolicLink(root.resolve("link"))).isFalse();
        assertThat(root.resolve("link")).hasContent("inside");
        assertNothingOutside();
    }

    @Test
    @DisplayName("replaces paths of another kind: file by directory, directory by symlink, file by file")
    void replacesOtherKinds() throws IOException {
        unpack(tar().file("a", "file")
                .directory("a", 0755)
                .file("a/inner", "x")
                .directory("b", 0755)
                .file("b/inner", "x")
                .symlink("b", "a")
                .file("c", "one")
                .hardlink("c2", "c")
                .file("c", "two")
                .bytes());

        assertThat(root.resolve("a")).isDirectory();
        assertThat(root.resolve("a/inner")).hasContent("x");
        assertThat(Files.readSymbolicLink(root.resolve("b"))).hasToString("a");
        assertThat(root.resolve("c")).hasContent("two");
        assertThat(root.resolve("c2"))
                .as("the old hardlink is not written through")
                .hasContent("one");
    }

    @Test
    @DisplayName("a hardlink to a symlink links the symlink itself, never what it points at")
    void hardlinkToSymlink() throws IOException {
        unpack(tar().symlink("link", outside.resolve("sentinel").toString())
                .hardlink("second", "link")
                .file("second", "replaced")
                .hardlink("third", "link")
                .bytes());

        assertThat(Files.readSymbolicLink(root.resolve("third"))).isEqualTo(outside.resolve("sentinel"));
        assertThat(Files.isSameFile(root.resolve("third"), outside.resolve("sentinel")))
                .as("the link resolves there, but is not the host file itself")
                .isTrue();
        assertThat(Files.getAttribute(outside.resolve("sentinel"), "unix:nlink"))
                .isEqualTo(1);
        assertThat(root.resolve("second")).hasContent("replaced");
        assertNothingOutside();
    }

    @Test
    @DisplayName("a 0555 directory with files inside extracts, keeps its mode and can be deleted")
    void readOnlyDirectory() throws IOException {
        unpack(tar().directory("ro", 0555)
                .file("ro/file", 0444, "x")
                .directory("ro/sub", 0500)
                .file("ro/sub/deeper", "y")
                .bytes());

        assertThat(root.resolve("ro/file")).hasContent("x");
        assertThat(root.resolve("ro/sub/deeper")).hasContent("y");
        assertThat(mode(root.resolve("ro"))).isEqualTo(0555);
        assertThat(mode(root.resolve("ro/sub"))).isEqualTo(0500);

        FileTrees.deleteRecursively(root);

        assertThat(root).doesNotExist();
    }

    @Test
    @DisplayName(
            "never creates device nodes, even as real root: each is skipped with a note, and what it replaces is gone")
    void skipsDevicesAsRoot() throws IOException {
        assertThat(PosixCalls.isRoot())
                .as("this test needs real root, as CI has")
                .isTrue();
        UnpackResult result = unpack(tar().directory("dev", 0755)
                .file("dev/console", "a file the device entry replaces")
                .characterDevice("dev/console", 5, 1)
                .file("etc/hostname", "box\n")
                .bytes());

        assertThat(root.resolve("dev/console")).doesNotExist();
        assertThat(root.resolve("dev")).isDirectory();
        assertThat(root.resolve("etc/hostname")).exists();
        assertThat(result.notes())
                .containsExactly("Image " + IMAGE + ": skipped character device 'dev/console' (5:1): "
                        + "the image cache never holds device nodes; the environment mounts its own /dev");
    }

    @Test
    @DisplayName("refuses a device node entry that names the rootfs itself")
    void refusesDeviceAsRoot() {
        assertThatThrownBy(() ->
                        unpack(tar().characterDevice(".", 1, 3).file("a", "x").bytes()))
                .isInstanceOf(ImageUnpackException.class)
                .hasMessageContaining("it names the rootfs itself");
    }

    @Test
    @DisplayName("refuses an image whose /dev or /proc is a symlink")
    void refusesSymlinkedMountPoints() {
        assertThatThrownBy(() -> unpack(tar().symlink("dev", "/dev").bytes()))
                .isInstanceOf(ImageUnpackException.class)
                .hasMessageContaining("Image " + IMAGE + " is refused: its /dev is a symlink (to '/dev')");
        assertThatThrownBy(() -> new SafeTarUnpacker(UnpackLimits.defaults())
                        .unpack(
                                new ByteArrayInputStream(tar().directory("x", 0755)
                                        .symlink("proc", "x")
                                        .bytes()),
                                IMAGE,
                                Files.createDirectory(base.resolve("second"))))
                .hasMessageContaining("its /proc is a symlink (to 'x')");
    }

    @Test
    @DisplayName("keeps long (PAX) names")
    void longNames() throws IOException {
        String name = "d".repeat(150) + "/" + "f".repeat(120);

        unpack(tar().file(name, "long").bytes());

        assertThat(root.resolve(name)).hasContent("long");
    }

    @Test
    @DisplayName("keeps non-ASCII names and symlink targets byte for byte (UTF-8, as Docker writes them)")
    void nonAsciiNames() throws IOException {
        unpack(tar().file("etc/Főtanúsítvány.crt", "cert")
                .symlink("etc/link", "Főtanúsítvány.crt")
                .bytes());

        assertThat(root.resolve("etc/Főtanúsítvány.crt")).hasContent("cert");
        assertThat(root.resolve("etc/link")).hasContent("cert");
        assertThat(PosixReadlink.read(root.resolve("etc/link"))).isEqualTo("Főtanúsítvány.crt");
    }

    @Test
    @DisplayName("in a JVM whose locale cannot encode a name (LANG unset), refuses it naming the entry and the fix")
    void nonAsciiNamesInTheCLocale() throws Exception {
        Path named = base.resolve("named.tar");
        Files.write(named, tar().file("etc/Főtanúsítvány.crt", "cert").bytes());
        Path linked = base.resolve("linked.tar");
        Files.write(
                linked,
                tar().file("etc/plain", "x")
                        .symlink("etc/link", "Főtanúsítvány.crt")
                        .bytes());

        for (Path archive : List.of(named, linked)) {
            Path target = Files.createDirectory(base.resolve("c-locale-" + archive.getFileName()));
            Path message = base.resolve("message-" + archive.getFileName());
            ProcessBuilder child = new ProcessBuilder(
                            Path.of(System.getProperty("java.home"), "bin", "java")
                                    .toString(),
                            "-cp",
                            System.getProperty("java.class.path"),
                            CLocaleUnpack.class.getName(),
                            archive.toString(),
                            target.toString(),
                            message.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            child.environment().keySet().removeIf(name -> name.equals("LANG") || name.startsWith("LC_"));
            assertThat(child.start().waitFor()).isZero();

            String result = Files.readString(message, StandardCharsets.UTF_8);
            if (archive == linked && result.equals("unpacked")) { // Java 18+: file.encoding is UTF-8 in any locale
                assertThat(PosixReadlink.read(target.resolve("etc/link"))).isEqualTo("Főtanúsítvány.crt");
                continue;
            }
            String entry = archive == named ? "etc/Főtanúsítvány.crt" : "etc/link";
            assertThat(result)
                    .startsWith("Image " + archive + ": entry '" + entry + "' cannot be written: its name or link"
                            + " target has characters this JVM cannot use in a file name (its locale gives it"
                            + " sun.jnu.encoding=ANSI_X3.4-1968, file.encoding=")
                    .endsWith("); run the JVM with a UTF-8 locale, e.g. LANG=C.UTF-8");
            assertThat(target.resolve("etc/link"))
                    .as("no link with '?' for each character")
                    .doesNotExist();
        }
    }

    /** Unpacks {@code args[0]} into {@code args[1]}, writing the refusal's message to {@code args[2]}, in UTF-8. */
    static final class CLocaleUnpack {

        public static void main(String[] args) throws IOException {
            try (var in = Files.newInputStream(Path.of(args[0]))) {
                new SafeTarUnpacker(UnpackLimits.defaults()).unpack(in, args[0], Path.of(args[1]));
                Files.writeString(Path.of(args[2]), "unpacked", StandardCharsets.UTF_8);
            } catch (ImageUnpackException e) {
                Files.writeString(Path.of(args[2]), e.getMessage(), StandardCharsets.UTF_8);
            }
        }
    }

    @Nested
    @DisplayName("refuses extended headers no real archive has, before they exhaust the heap or the stack")
    class HostileHeaders {

        static final String TOO_LARGE = "the headers of an entry (PAX extended headers, GNU long names, a sparse map)"
                + " have more than 1048576 bytes; no name or attribute needs that many, so it is corrupt or hostile";

        @Test
        @DisplayName("a GNU long name of 2 MiB (read into memory whole by the tar reader)")
        void hugeGnuLongName() {
            byte[] archive = RawTars.raw()
                    .entry("././@LongLink", 'L', "a".repeat(2 * 1024 * 1024).getBytes(StandardCharsets.US_ASCII))
                    .entry("short", '0', new byte[] {'x'})
                    .bytes();

            assertThatThrownBy(() -> unpack(archive))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessage("Image " + IMAGE + " is refused at its first entry: " + TOO_LARGE);
            assertThat(root).isEmptyDirectory();
        }

        @Test
        @DisplayName("a PAX record of 2 MiB, after a first entry")
        void hugePaxRecord() {
            byte[] archive = RawTars.raw()
                    .entry("first", '0', new byte[] {'1'})
                    .pax('x', "comment", "a".repeat(2 * 1024 * 1024))
                    .entry("second", '0', new byte[] {'2'})
                    .bytes();

            assertThatThrownBy(() -> unpack(archive))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessage("Image " + IMAGE + " is refused after entry 'first': " + TOO_LARGE);
        }

        @Test
        @DisplayName("10,000 PAX headers chained before one entry (the tar reader follows them by recursion)")
        void chainedHeaders() {
            RawTars tar = RawTars.raw();
            for (int i = 0; i < 10_000; i++) {
                tar.pax('x', "comment", "x");
            }
            byte[] archive = tar.entry("file", '0', new byte[] {'x'}).bytes();

            assertThatThrownBy(() -> unpack(archive))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessage("Image " + IMAGE + " is refused at its first entry: an entry comes after more than 31"
                            + " extended headers (PAX, GNU long names) in a row; an archive needs a few at most, so it"
                            + " is corrupt or hostile");
        }

        @Test
        @DisplayName("global PAX headers of more than 16 KiB in all (each applies to every later entry)")
        void globalHeaders() {
            RawTars tar = RawTars.raw();
            for (int i = 0; i < 100; i++) {
                tar.pax('g', "key" + i, "v".repeat(400)).entry("f" + i, '0', new byte[0]);
            }
            byte[] archive = tar.bytes();

            assertThatThrownBy(() -> unpack(archive))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageStartingWith("Image " + IMAGE + " is refused after entry 'f")
                    .hasMessageEndingWith(": its global PAX headers have more than 16384 bytes; an archive needs a"
                            + " few at most, so it is corrupt or hostile");
        }

        @Test
        @DisplayName("but reads what real archives hold: a global header, GNU long names and links, PAX paths")
        void ordinaryHeaders() throws IOException {
            String longName = "d".repeat(120) + "/" + "f".repeat(120);
            byte[] archive = RawTars.raw()
                    .pax('g', "comment", "0123456789abcdef0123456789abcdef01234567")
                    .entry("././@LongLink", 'L', (longName + "\0").getBytes(StandardCharsets.US_ASCII))
                    .entry(longName.substring(0, 99), '0', "gnu".getBytes(StandardCharsets.US_ASCII))
                    .entry("././@LongLink", 'K', (longName + "\0").getBytes(StandardCharsets.US_ASCII))
                    .entry("link", '1', new byte[0])
                    .pax('x', "path", "p".repeat(200))
                    .pax('x', "mtime", "1622548800.5")
                    .entry("short", '0', "pax".getBytes(StandardCharsets.US_ASCII))
                    .bytes();

            unpack(archive);

            assertThat(root.resolve(longName)).hasContent("gnu");
            assertThat(Files.isSameFile(root.resolve("link"), root.resolve(longName)))
                    .isTrue();
            assertThat(root.resolve("p".repeat(200))).hasContent("pax");
        }

        @Test
        @DisplayName("an entry of an unknown type with 2 MiB of data is skipped with a note; its data is no header")
        void unknownTypeWithData() throws IOException {
            byte[] archive = RawTars.raw()
                    .entry("vendor-specific", 'Z', new byte[2 * 1024 * 1024])
                    .entry("after", '0', "x".getBytes(StandardCharsets.US_ASCII))
                    .bytes();

            UnpackResult result = unpack(archive);

            assertThat(root.resolve("after")).hasContent("x");
            assertThat(root.resolve("vendor-specific")).doesNotExist();
            assertThat(result.notes())
                    .containsExactly("Image " + IMAGE + ": skipped entry 'vendor-specific' of unsupported type 'Z'");
        }

        @Test
        @DisplayName("a GNU long name and a PAX path that climb out with '..' are refused, naming them")
        void longNamesClimbingOut() throws IOException {
            String climbing = "a/".repeat(60) + "../".repeat(61) + "outside/x";
            byte[] gnu = RawTars.raw()
                    .entry("././@LongLink", 'L', (climbing + "\0").getBytes(StandardCharsets.US_ASCII))
                    .entry("harmless", '0', "pwned".getBytes(StandardCharsets.US_ASCII))
                    .bytes();
            byte[] pax = RawTars.raw()
                    .pax('x', "path", climbing)
                    .entry("harmless", '0', "pwned".getBytes(StandardCharsets.US_ASCII))
                    .bytes();

            for (byte[] archive : List.of(gnu, pax)) {
                assertThatThrownBy(() -> unpack(archive))
                        .isInstanceOf(ImageUnpackException.class)
                        .hasMessageContaining("entry '" + climbing + "' is refused")
                        .hasMessageContaining("climbs out of the rootfs with '..'");
            }
            assertNothingOutside();
            assertThat(root.resolve("harmless")).doesNotExist();
        }

        @Test
        @DisplayName("data on an entry that is never written (a device node) counts against the byte limit")
        void dataOfSkippedEntries() {
            byte[] archive = RawTars.raw()
                    .entry("dev/zero", '3', new byte[4096])
                    .entry("etc/hostname", '0', "box".getBytes(StandardCharsets.US_ASCII))
                    .bytes();

            assertThatThrownBy(() -> unpack(archive, new UnpackLimits(1000, 100)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("more than 1000 bytes of file content (reached at entry 'dev/zero')");
        }
    }

    @Nested
    @DisplayName("fails clearly")
    class Failures {

        @Test
        @DisplayName("on more entries than the limit, naming the property that raises it")
        void tooManyEntries() {
            byte[] archive = tar().file("a", "1").file("b", "2").file("c", "3").bytes();

            assertThatThrownBy(() -> unpack(archive, new UnpackLimits(100, 2)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("more than 2 entries (stopped at 'c')")
                    .hasMessageContaining("-D" + UnpackLimits.MAX_ENTRIES_PROPERTY);
        }

        @Test
        @DisplayName("on more bytes than the limit, naming the entry and the property")
        void tooManyBytes() {
            byte[] archive = tar().file("small", "12345").file("big", "123456").bytes();

            assertThatThrownBy(() -> unpack(archive, new UnpackLimits(10, 100)))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("more than 10 bytes of file content (reached at entry 'big')")
                    .hasMessageContaining("-D" + UnpackLimits.MAX_TOTAL_BYTES_PROPERTY);
        }

        @Test
        @DisplayName("on a tar truncated inside a file, naming that file")
        void truncatedInsideFile() {
            byte[] archive = tar().file("first", "1")
                    .file("second", 0644, new byte[5000])
                    .bytes();
            byte[] truncated = Arrays.copyOf(archive, 512 + 512 + 512 + 2000);

            assertThatThrownBy(() -> unpack(truncated))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("Image " + IMAGE + " is truncated or corrupt in entry 'second'");
        }

        @Test
        @DisplayName("on a tar cut exactly after an entry, without the end-of-archive marker")
        void truncatedAtEntryBoundary() {
            byte[] archive = tar().file("first", "1").file("second", "2").bytes();
            byte[] truncated = Arrays.copyOf(archive, 4 * 512); // two headers, two data records, no zero records

            assertThatThrownBy(() -> unpack(truncated))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessage("Image " + IMAGE + " is truncated: it ends after entry 'second' without the "
                            + "end-of-archive marker");
        }

        @Test
        @DisplayName("on a corrupt header, naming the entry before it")
        void corruptHeader() {
            byte[] archive = tar().file("first", "1").file("second", "2").bytes();
            archive[1024 + 10] ^= 0x55; // the second header's name: its checksum no longer matches

            assertThatThrownBy(() -> unpack(archive))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("is truncated or corrupt after entry 'first'");
        }

        @Test
        @DisplayName("on a corrupt gzip stream, naming where it broke")
        void corruptGzip() {
            byte[] archive = corruptedGzip();

            assertThatThrownBy(() -> unpack(archive))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("Image " + IMAGE)
                    .hasMessageContaining("corrupt")
                    .hasMessageContaining("entry '");
        }

        @Test
        @DisplayName("on corrupt xz and zstd archives, naming the image")
        void corruptXzAndZstd() {
            byte[] xz = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0, 1, 2, 3};
            byte[] zstd = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd, 1, 2, 3};

            assertThatThrownBy(() -> unpack(xz))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageStartingWith("Image " + IMAGE);
            assertThatThrownBy(() -> unpack(zstd))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageStartingWith("Image " + IMAGE);
        }

        @Test
        @DisplayName("on bzip2, naming the format and the fix")
        void bzip2() {
            assertThatThrownBy(() -> unpack(new byte[] {'B', 'Z', 'h', '9', 1, 2}))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("is bzip2-compressed, which is not supported");
        }

        @Test
        @DisplayName("on an archive without entries")
        void empty() {
            assertThatThrownBy(() -> unpack(tar().bytes()))
                    .isInstanceOf(ImageUnpackException.class)
                    .hasMessageContaining("holds no entries");
        }
    }

    /** A gzip of three text files whose deflate stream is damaged in the middle. */
    static byte[] corruptedGzip() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 20_000; i++) {
            text.append("line ").append(i).append(" of a compressible file\n");
        }
        byte[] gzip = tar().file("one", text.toString())
                .file("two", text.toString())
                .file("three", text.toString())
                .gzipped();
        for (int i = gzip.length / 2; i < gzip.length / 2 + 64; i++) {
            gzip[i] ^= (byte) 0xa5;
        }
        return gzip;
    }

    private void assertNothingOutside() throws IOException {
        try (Stream<Path> files = Files.list(outside)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("sentinel");
        }
        assertThat(outside.resolve("sentinel")).hasContent("untouched");
        assertThat(base.resolve("x")).doesNotExist();
    }

    private UnpackResult unpack(byte[] archive) {
        return unpack(archive, IMAGE);
    }

    private UnpackResult unpack(byte[] archive, String image) {
        return new SafeTarUnpacker(UnpackLimits.defaults()).unpack(new ByteArrayInputStream(archive), image, root);
    }

    private UnpackResult unpack(byte[] archive, UnpackLimits limits) {
        return new SafeTarUnpacker(limits).unpack(new ByteArrayInputStream(archive), IMAGE, root);
    }

    static int mode(Path path) throws IOException {
        return ((Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS)) & 07777;
    }

    /** Reads a symlink's target byte for byte ({@code Files.readSymbolicLink} normalises it). */
    static final class PosixReadlink {

        private PosixReadlink() {}

        static String read(Path link) throws IOException {
            Process process = new ProcessBuilder("readlink", link.toString()).start();
            String target = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            try {
                assertThat(process.waitFor()).isZero();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            return target;
        }
    }
}
