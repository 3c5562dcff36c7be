package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the environment can plant for the JVM's file operations: FIFOs, devices, huge files, symlinks. */
@DisplayName("file operations on what a hostile environment plants")
@Isolated(rootfs = "busybox.tar")
class HostileFilesTests {
    private static final Duration FAST = Duration.ofSeconds(5);

    @Test
    @DisplayName("copyOut onto an existing host file is refused, naming it, and the file stays byte for byte")
    void copyOutOntoAFile(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        env.writeString("/out.txt", "from the environment\n");
        Path target = dir.resolve("existing.bin");
        byte[] before = {0, 1, 2, (byte) 0xff, 'h', 'o', 's', 't'};
        Files.write(target, before);

        assertThatThrownBy(() -> env.copyOut("/out.txt", target))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(FileAlreadyExistsException.class)
                .hasMessage("Cannot copy /out.txt out of the environment to " + target + ": it already exists on the "
                        + "host; copyOut never replaces anything there: delete it first or choose a path that does "
                        + "not exist");
        assertThat(Files.readAllBytes(target)).isEqualTo(before);
    }

    @Test
    @DisplayName(
            "copyOut onto a directory, a symlink, a dangling symlink or a FIFO on the host is refused; none is followed")
    void copyOutOntoOtherHostFiles(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        assertThat(env.exec("sh", "-c", "mkdir -p /tree/sub && echo t > /tree/sub/f && echo x > /file"))
                .succeeded();
        Path canary = Files.writeString(dir.resolve("canary"), "host canary\n");
        Path directory = Files.createDirectory(dir.resolve("directory"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), canary);
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("not-there"));
        Path fifo = dir.resolve("fifo");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor())
                .isZero();

        for (Path target : new Path[] {directory, link, dangling, fifo}) {
            for (String source : new String[] {"/file", "/tree"}) {
                assertTimeoutPreemptively(
                        FAST,
                        () -> assertThatThrownBy(() -> env.copyOut(source, target))
                                .as("copyOut %s to %s", source, target)
                                .isInstanceOf(UncheckedIOException.class)
                                .hasMessageContaining(target.toString())
                                .hasMessageContaining("already exists on the host"));
            }
        }
        assertThat(canary).content().isEqualTo("host canary\n");
        assertThat(directory).isEmptyDirectory();
        assertThat(Files.readSymbolicLink(link)).isEqualTo(canary);
        assertThat(Files.readSymbolicLink(dangling)).isEqualTo(dir.resolve("not-there"));
        assertThat(dir.resolve("not-there")).doesNotExist();
        assertThat(Files.isSymbolicLink(fifo)
                        || Files.isRegularFile(fifo, LinkOption.NOFOLLOW_LINKS)
                        || Files.isDirectory(fifo, LinkOption.NOFOLLOW_LINKS))
                .isFalse();
    }

    @Test
    @DisplayName("readString of a FIFO fails at once, naming the FIFO; writeString and copyIn to it too, with "
            + "README's messages")
    void readStringOfAFifo(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        assertThat(env.exec("mkfifo", "/tmp/pipe")).succeeded();

        assertTimeoutPreemptively(
                FAST,
                () -> assertThatThrownBy(() -> env.readString("/tmp/pipe"))
                        .isInstanceOf(UncheckedIOException.class)
                        .hasMessageStartingWith("Cannot read /tmp/pipe: /tmp/pipe in the environment of host pid ")
                        .hasMessageEndingWith(" is a FIFO, not a regular file; only regular files are read"));
        assertTimeoutPreemptively(
                FAST,
                () -> assertThatThrownBy(() -> env.writeString("/tmp/pipe", "x"))
                        .isInstanceOf(UncheckedIOException.class)
                        .hasMessage("Cannot write /tmp/pipe: /tmp/pipe in the environment of host pid "
                                + env.initHostPid() + " is a FIFO, not a regular file"));
        Path source = Files.writeString(dir.resolve("source.txt"), "x");
        assertTimeoutPreemptively(
                FAST,
                () -> assertThatThrownBy(() -> env.copyIn(source, "/tmp/pipe"))
                        .isInstanceOf(UncheckedIOException.class)
                        .hasMessage("Cannot copy " + source + " into the environment at /tmp/pipe: /tmp/pipe in the "
                                + "environment of host pid " + env.initHostPid() + " is a FIFO, not a regular file"));
    }

    @Test
    @DisplayName("Command.withUser(name) with a FIFO for /etc/passwd fails at once, naming the command's user and the "
            + "file")
    void passwdIsAFifo(IsolatedEnvironment env) {
        assertThat(env.exec("sh", "-c", "rm -f /etc/passwd && mkfifo /etc/passwd"))
                .succeeded();

        assertTimeoutPreemptively(
                FAST,
                () -> assertThatThrownBy(() -> env.exec(Command.of("id").withUser("postgres")))
                        .hasMessage("Command.withUser(\"postgres\"): Cannot read /etc/passwd: /etc/passwd in the "
                                + "environment of host pid " + env.initHostPid() + " is a FIFO, not a regular file; "
                                + "only regular files are read"));
    }

    @Test
    @DisplayName("readString of a symlink to /dev/zero, or of a directory, is refused at once")
    void readStringOfADevice(IsolatedEnvironment env) {
        assertThat(env.exec("ln", "-s", "/dev/zero", "/tmp/zero")).succeeded();

        assertTimeoutPreemptively(
                FAST,
                () -> assertThatThrownBy(() -> env.readString("/tmp/zero"))
                        .isInstanceOf(UncheckedIOException.class)
                        .hasMessageContaining("/tmp/zero")
                        .hasMessageContaining("is a character device, not a regular file"));
        assertThatThrownBy(() -> env.readString("/etc"))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("/etc in the environment")
                .hasMessageContaining("is a directory, not a regular file");
    }

    @Test
    @DisplayName("readString of a file over 64 MiB is refused with a pointer to copyOut, which copies it")
    void readStringIsBounded(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        assertThat(env.exec("truncate", "-s", "100M", "/tmp/huge")).succeeded();
        assertThat(env.exec("sh", "-c", "head -c 67108864 /dev/zero > /tmp/exactly-64m"))
                .succeeded();

        assertTimeoutPreemptively(
                FAST,
                () -> assertThatThrownBy(() -> env.readString("/tmp/huge"))
                        .isInstanceOf(UncheckedIOException.class)
                        .hasMessageStartingWith("Cannot read /tmp/huge: /tmp/huge in the environment of host pid ")
                        .hasMessageEndingWith(
                                " is larger than 64 MiB, the most readString reads; copy it to the host with "
                                        + "copyOut instead"));
        assertThat(env.readString("/tmp/exactly-64m")).hasSize(64 << 20);

        env.copyOut("/tmp/huge", dir.resolve("huge"));
        assertThat(Files.size(dir.resolve("huge"))).isEqualTo(100L << 20);
    }

    @Test
    @DisplayName("readString of a /proc file (whose size says 0) reads what it holds")
    void readStringOfProc(IsolatedEnvironment env) {
        assertThat(env.readString("/proc/uptime")).matches("[0-9.]+ [0-9.]+\n");
    }

    @Test
    @DisplayName(
            "copyOut of a tree keeps symlinks as symlinks and leaves FIFOs, sockets and devices out; of a FIFO it refuses")
    void copyOutOfATree(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        Path canary = Files.writeString(dir.resolve("canary"), "host canary\n");
        assertThat(
                        env.exec(
                                "sh",
                                "-c",
                                "mkdir -p /t/sub && echo a > /t/sub/a && ln -s " + canary + " /t/to-host"
                                        + " && ln -s /etc/shadow /t/shadow && mkfifo /t/sub/pipe && chmod 755 /t/sub/a && ln -s /t/sub /t/dir-link"))
                .succeeded();

        assertTimeoutPreemptively(FAST, () -> env.copyOut("/t", dir.resolve("t")));

        assertThat(dir.resolve("t/sub/a")).content().isEqualTo("a\n");
        assertThat(Files.isExecutable(dir.resolve("t/sub/a"))).isTrue();
        assertThat(Files.readSymbolicLink(dir.resolve("t/to-host"))).isEqualTo(canary);
        assertThat(Files.readSymbolicLink(dir.resolve("t/shadow"))).isEqualTo(Paths.get("/etc/shadow"));
        assertThat(Files.readSymbolicLink(dir.resolve("t/dir-link"))).isEqualTo(Paths.get("/t/sub"));
        assertThat(dir.resolve("t/sub/pipe")).doesNotExist();
        try (var names = Files.list(dir.resolve("t/sub"))) {
            assertThat(names.map(p -> p.getFileName().toString())).containsExactly("a");
        }
        assertThat(canary).content().isEqualTo("host canary\n");

        assertTimeoutPreemptively(
                FAST,
                () -> assertThatThrownBy(() -> env.copyOut("/t/sub/pipe", dir.resolve("p")))
                        .isInstanceOf(UncheckedIOException.class)
                        .hasMessageContaining("/t/sub/pipe in the environment of host pid ")
                        .hasMessageEndingWith(
                                " is a FIFO; copyOut copies regular files, directories and symlinks only"));
        assertThat(dir.resolve("p")).doesNotExist();
    }
}
