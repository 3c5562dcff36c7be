package dev.isolated.internal.helper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.IsolatedException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("the bundled helper, extracted at run time")
class HelperBinaryTests {
    @TempDir
    Path base;

    @Test
    @DisplayName("lands read-only and executable in a directory named by its digest, with the jar's bytes")
    void extracts() throws Exception {
        Path helper = HelperBinary.extractBundled(base);

        assertThat(helper.getParent().getParent()).isEqualTo(base);
        assertThat(helper.getParent().getFileName().toString())
                .isEqualTo(bundledDigest().substring(0, 16));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(helper)))
                .isEqualTo("r-xr-xr-x");
        assertThat(HelperBinary.sha256(Files.readAllBytes(helper))).isEqualTo(bundledDigest());
        Process help = new ProcessBuilder(helper.toString(), "--help")
                .redirectErrorStream(true)
                .start();
        assertThat(new String(help.getInputStream().readAllBytes())).contains("isolated-helper run");
        assertThat(help.waitFor()).isZero();
    }

    @Test
    @DisplayName(
            "with nothing configured it goes to ~/.cache/isolated/helper, or $XDG_CACHE_HOME/isolated/helper where that is set to an absolute path")
    void defaultDirectory() throws Exception {
        Path home = Files.createDirectories(base.resolve("home"));
        Path xdg = base.resolve("xdg");
        Path inHome = home.resolve(".cache/isolated/helper/" + bundledDigest().substring(0, 16) + "/isolated-helper");

        assertThat(locatedInChildJvm(home, null)).isEqualTo(inHome);
        assertThat(locatedInChildJvm(home, xdg))
                .isEqualTo(xdg.resolve("isolated/helper/" + bundledDigest().substring(0, 16) + "/isolated-helper"));
        assertThat(locatedInChildJvm(home, Path.of("relative-xdg-cache")))
                .as("a relative XDG_CACHE_HOME is ignored, as the XDG spec asks")
                .isEqualTo(inHome);
        assertThat(Path.of("relative-xdg-cache")).doesNotExist();
    }

    /** Prints where {@link HelperBinary#locate()} finds the helper in a fresh JVM. */
    public static final class LocateMain {
        private LocateMain() {}

        public static void main(String[] args) {
            System.out.println(HelperBinary.locate());
        }
    }

    private static Path locatedInChildJvm(Path home, Path xdgCacheHome) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Duser.home=" + home,
                        "-cp",
                        System.getProperty("java.class.path"),
                        LocateMain.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().remove(HelperBinary.DIR_ENVIRONMENT_VARIABLE);
        pb.environment().remove("XDG_CACHE_HOME");
        if (xdgCacheHome != null) {
            pb.environment().put("XDG_CACHE_HOME", xdgCacheHome.toString());
        }
        Process child = pb.start();
        String out = new String(child.getInputStream().readAllBytes()).strip();
        assertThat(child.waitFor()).as("the child JVM's exit code").isZero();
        return Path.of(out);
    }

    @Test
    @DisplayName("a file at its place with other bytes (tampered or truncated) is replaced, not run")
    void replacesATamperedFile() throws Exception {
        Path helper = HelperBinary.extractBundled(base);
        Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(helper, "#!/bin/sh\necho pwned\n");

        Path again = HelperBinary.extractBundled(base);

        assertThat(again).isEqualTo(helper);
        assertThat(HelperBinary.sha256(Files.readAllBytes(again))).isEqualTo(bundledDigest());
    }

    @Test
    @DisplayName("a file found whole once and then changed in place, same size, is hashed again and replaced")
    void replacesAFileChangedInPlaceAfterItWasVerified() throws Exception {
        Path helper = HelperBinary.extractBundled(base);
        HelperBinary.extractBundled(base); // found whole: now known by its identity
        Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwxr-xr-x"));
        byte[] bytes = Files.readAllBytes(helper);
        bytes[bytes.length / 2] ^= 0x55;
        try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(helper.toFile(), "rw")) {
            file.seek(bytes.length / 2);
            file.write(bytes[bytes.length / 2]);
        }

        Path again = HelperBinary.extractBundled(base);

        assertThat(HelperBinary.sha256(Files.readAllBytes(again))).isEqualTo(bundledDigest());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(again)))
                .isEqualTo("r-xr-xr-x");
    }

    @Test
    @DisplayName("eight threads extracting at once all get the same whole file, and no temp file stays behind")
    void concurrentExtraction() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Path>> jobs = IntStream.range(0, 8)
                    .<Callable<Path>>mapToObj(i -> () -> HelperBinary.extractBundled(base))
                    .toList();
            List<Path> paths = pool.invokeAll(jobs).stream()
                    .map(HelperBinaryTests::get)
                    .distinct()
                    .toList();

            assertThat(paths).hasSize(1);
            assertThat(HelperBinary.sha256(Files.readAllBytes(paths.get(0)))).isEqualTo(bundledDigest());
            try (Stream<Path> files = Files.list(paths.get(0).getParent())) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .containsExactlyInAnyOrder("isolated-helper", HelperBinary.VERIFIED);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @DisplayName("its directory loses group/other write permission (a umask of 002); one of another user is refused")
    void privateDirectories() throws Exception {
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path helper = HelperBinary.extractBundled(base);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(base)))
                .isEqualTo("rwxr-xr-x");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(helper.getParent())))
                .isEqualTo("rwxr-xr-x");

        Path foreign = Files.createDirectory(base.resolve("foreign"));
        Files.setAttribute(foreign, "unix:uid", 65534);
        assertThatThrownBy(() -> HelperBinary.extractBundled(foreign))
                .isInstanceOf(IsolatedException.class)
                .hasMessageContaining(foreign + ", is owned by uid 65534")
                .hasMessageContaining("another user could replace what is in it")
                .hasMessageContaining("isolated.helper.dir");
    }

    @Test
    @DisplayName("the jar holds a static helper for x86_64 and one for aarch64, each an ELF of its machine")
    void bothArchitecturesBundled() throws Exception {
        assertThat(elfMachineOfStatic(HelperBinary.resourceName("Linux", "amd64")))
                .isEqualTo(EM_X86_64);
        assertThat(elfMachineOfStatic(HelperBinary.resourceName("Linux", "aarch64")))
                .isEqualTo(EM_AARCH64);
        assertThat(HelperBinary.resourceName("Linux", "x86_64")).isEqualTo(HelperBinary.resourceName("Linux", "amd64"));
        assertThat(HelperBinary.resourceName("Linux", "arm64"))
                .isEqualTo(HelperBinary.resourceName("Linux", "aarch64"));
    }

    @Test
    @DisplayName(
            "an isolated.helper.path that cannot be executed is refused with how to mend that file, not helper.dir")
    void explicitPathNotExecutable() throws Exception {
        Path helper = Files.writeString(base.resolve("isolated-helper"), "not a program");
        assertThatThrownBy(() -> HelperBinary.locate(key ->
                        key.equals(HelperBinary.PATH_PROPERTY) ? Optional.of(helper.toString()) : Optional.empty()))
                .isInstanceOf(IsolatedException.class)
                .hasMessage(
                        "The isolated helper " + helper + " (from the configuration parameter isolated.helper.path) "
                                + "cannot be executed; is its file system mounted noexec? Make it executable (chmod +x) on an "
                                + "exec-allowed file system, or leave isolated.helper.path unset to use the helper in "
                                + "Isolated's jar.");
    }

    @Test
    @DisplayName("a host of another architecture gets a message naming it and how to build and name a helper")
    void unsupportedArchitecture() {
        assertThatThrownBy(() -> HelperBinary.resourceName("Linux", "riscv64"))
                .isInstanceOf(IsolatedException.class)
                .hasMessage("Isolated's jar holds its native helper for x86_64 (amd64) and aarch64 (arm64) Linux only; "
                        + "this JVM runs on riscv64 (os.arch). Build the helper for riscv64 from the project's native/ "
                        + "directory (gcc -static -D_GNU_SOURCE -o isolated-helper native/src/main/c/*.c) and set "
                        + "-Disolated.helper.path=<its path>.");
        assertThatThrownBy(() -> HelperBinary.resourceName("Mac OS X", "aarch64"))
                .isInstanceOf(IsolatedException.class)
                .hasMessage("Isolated needs Linux (namespaces, pivot_root); this JVM runs on Mac OS X.");
    }

    private static final int EM_X86_64 = 62;
    private static final int EM_AARCH64 = 183;
    private static final int PT_INTERP = 3;

    /** @return the ELF e_machine of the bundled resource, after checking it is a 64-bit executable without PT_INTERP */
    private static int elfMachineOfStatic(String resource) throws Exception {
        byte[] elf;
        try (InputStream in = HelperBinary.class.getClassLoader().getResourceAsStream(resource)) {
            assertThat(in).as("resource " + resource).isNotNull();
            elf = in.readAllBytes();
        }
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt(0)).as(resource + ": ELF magic").isEqualTo(0x464c457f);
        assertThat(elf[4]).as(resource + ": ELFCLASS64").isEqualTo((byte) 2);
        long phoff = b.getLong(0x20);
        int phentsize = b.getShort(0x36) & 0xffff;
        int phnum = b.getShort(0x38) & 0xffff;
        assertThat(phnum).as(resource + ": program headers").isPositive();
        for (int i = 0; i < phnum; i++) {
            assertThat(b.getInt((int) phoff + i * phentsize))
                    .as(resource + ": statically linked (no PT_INTERP)")
                    .isNotEqualTo(PT_INTERP);
        }
        return b.getShort(0x12) & 0xffff;
    }

    private static String bundledDigest() throws Exception {
        try (InputStream in = HelperBinary.class.getClassLoader().getResourceAsStream(HelperBinary.resourceName())) {
            return HelperBinary.sha256(in.readAllBytes());
        }
    }

    private static Path get(Future<Path> future) {
        try {
            return future.get();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
