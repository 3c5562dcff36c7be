package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * copyIn and copyOut of files larger than the JVM could hold: sparse files on the host and inside, so that gigabytes
 * cost neither disk nor time to make; the writable layer is a tmpfs large enough for what is copied in.
 */
@DisplayName("copyIn and copyOut of huge files")
@Isolated(rootfs = "busybox.tar")
@WritableLayer(tmpfsSize = "4g")
class LargeFilesTests {
    private static final long GIB = 1L << 30;

    /** Offsets of the markers: the start, across a data frame's end and across 2 GiB (an int's end), the end. */
    private static List<Long> markers(long size) {
        return List.of(0L, (1L << 20) - 7, 2 * GIB - 4, size - 8).stream()
                .filter(o -> o + 8 <= size)
                .toList();
    }

    /** The 8 bytes at OFFSET: its low 32 bits in hex, as text (no zero byte). */
    private static String marker(long offset) {
        return String.format("%08x", offset & 0xffffffffL);
    }

    /** A sparse file of SIZE bytes, zeros but the {@link #marker} at each of {@link #markers}. */
    private static Path sparse(Path file, long size) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
            for (long offset : markers(size)) {
                f.seek(offset);
                f.write(marker(offset).getBytes(StandardCharsets.US_ASCII));
            }
        }
        return file;
    }

    /** Each marker of a file of SIZE bytes, a line each. */
    private static String markerLines(long size) {
        return markers(size).stream().map(o -> marker(o) + "\n").collect(Collectors.joining());
    }

    /** A shell command printing the 8 bytes at each marker of FILE (SIZE bytes), a line each. */
    private static String readMarkers(String file, long size) {
        return markers(size).stream()
                .map(o -> "busybox dd if=" + file + " bs=1 skip=" + o + " count=8 2>/dev/null; echo")
                .collect(Collectors.joining("; "));
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                digest.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** 9 MiB and 5 random bytes: several data frames and READ chunks, their last one short. */
    private static Path random(Path file) throws IOException {
        byte[] bytes = new byte[(9 << 20) + 5];
        new Random(42).nextBytes(bytes);
        return Files.write(file, bytes);
    }

    @Test
    @DisplayName("as root, copyIn of a sparse 3 GiB file (more than one Java array holds) arrives whole: its size and "
            + "the bytes at its markers; a random file's sha256 is the host's")
    void copyInOfThreeGibibytes(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        long size = 3 * GIB;
        Path big = sparse(dir.resolve("big"), size);
        Path random = random(dir.resolve("random"));

        env.copyIn(big, "/big");
        env.copyIn(random, "/random");

        assertThat(env.exec("stat", "-c", "%s", "/big")).stdout().isEqualTo(size + "\n");
        assertThat(env.exec("sh", "-c", readMarkers("/big", size))).stdout().isEqualTo(markerLines(size));
        assertThat(env.exec("sha256sum", "/random")).stdout().isEqualTo(sha256(random) + "  /random\n");
    }

    @Test
    @DisplayName("as root, a host file that shrinks while copyIn copies it fails the copy, naming it and the sizes; "
            + "the environment goes on")
    void copyInOfAShrinkingFile(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        long size = GIB;
        Path big = sparse(dir.resolve("big"), size);
        Path arriving = Path.of("/proc/" + env.initHostPid() + "/root/big");

        CompletableFuture<Void> copy = CompletableFuture.runAsync(() -> env.copyIn(big, "/big"));
        while (!copy.isDone() && !(Files.exists(arriving) && Files.size(arriving) > 0)) {
            Thread.sleep(1);
        }
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(1 << 20);
        }

        assertThatThrownBy(copy::get)
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageStartingWith("Cannot copy " + big + " into the environment at /big: " + big + " shrank "
                        + "while it was copied: it had 1,073,741,824 bytes when opened and 1,048,576 after ")
                .hasMessageEndingWith(" were read; /big in the environment is left incomplete");
        assertThat(env.exec("sh", "-c", "echo still here")).stdout().isEqualTo("still here\n");
        env.copyIn(Files.writeString(dir.resolve("small"), "small\n"), "/big");
        assertThat(env.readString("/big")).isEqualTo("small\n");
    }

    @Test
    @DisplayName("as root, copyIn refuses a host FIFO at once, naming it, never opening it")
    void copyInOfAFifo(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("pipe");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor())
                .isZero();

        assertThatThrownBy(() -> env.copyIn(fifo, "/pipe"))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessage("Cannot copy " + fifo + " into the environment at /pipe: " + fifo + " is a FIFO; copyIn "
                        + "copies regular files, directories and symlinks only");
    }

    @Test
    @DisplayName("run by uid 65534, copyOut of a sparse 2 GiB file arrives whole, and another environment's exec "
            + "returns while it is being copied; a random file comes back with the host's sha256")
    void rootlessCopyOutInChunks(@TempDir Path dir) throws Exception {
        List<String> lines = NobodyJvm.runFixture(NobodyJvm.runDirectory(dir, "run"), RootlessCopyOutTestCase.class);

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class RootlessCopyOutTestCase {
        @Test
        void copyOut(@TempDir Path dir) throws Exception {
            // the copy on a tmpfs: 2 GiB of zeros written to memory for the test's length, not to the disk
            Path out = Files.createTempDirectory(Path.of("/dev/shm"), "isolated-large-files-");
            try (IsolatedEnvironment env =
                            IsolatedEnvironment.builder().rootfs("busybox.tar").start();
                    IsolatedEnvironment other =
                            IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                copyOutWhileOtherRuns(env, other, out.resolve("big"));

                Path random = random(dir.resolve("random"));
                env.copyIn(random, "/random");
                env.copyOut("/random", dir.resolve("back"));
                assertThat(sha256(dir.resolve("back"))).isEqualTo(sha256(random));
            } finally {
                Files.deleteIfExists(out.resolve("big"));
                Files.delete(out);
            }
        }

        private static void copyOutWhileOtherRuns(IsolatedEnvironment env, IsolatedEnvironment other, Path target)
                throws Exception {
            long size = 2 * GIB;
            String marks = markers(size).stream()
                    .map(o -> "printf " + marker(o) + " | busybox dd of=/big bs=1 seek=" + o
                            + " conv=notrunc 2>/dev/null")
                    .collect(Collectors.joining(" && "));
            assertThat(env.exec("sh", "-c", "busybox truncate -s " + size + " /big && " + marks))
                    .succeeded();

            CompletableFuture<Void> copy = CompletableFuture.runAsync(() -> env.copyOut("/big", target));
            while (!copy.isDone() && !(Files.exists(target) && Files.size(target) > 0)) {
                Thread.sleep(1);
            }
            assertThat(other.exec("true")).succeeded();
            // one READ of the whole file would have sent every byte before the other's SPAWN was even read
            long copiedWhenTheOtherReturned = Files.size(target);
            copy.get();

            assertThat(copiedWhenTheOtherReturned).isLessThan(size);
            assertThat(target).hasSize(size);
            try (RandomAccessFile f = new RandomAccessFile(target.toFile(), "r")) {
                for (long offset : markers(size)) {
                    byte[] bytes = new byte[8];
                    f.seek(offset);
                    f.readFully(bytes);
                    assertThat(new String(bytes, StandardCharsets.US_ASCII))
                            .as("at " + offset)
                            .isEqualTo(marker(offset));
                }
            }
        }
    }
}
