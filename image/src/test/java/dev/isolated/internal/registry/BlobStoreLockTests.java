package dev.isolated.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("BlobStore's locks across threads and JVMs")
class BlobStoreLockTests {

    private static final int BLOBS = 4;
    private static final int THREADS_PER_BLOB = 2;

    @TempDir
    Path dir;

    @Test
    @DisplayName(
            "two JVMs storing the same blobs at once, from several threads each, store each blob once and fail with no "
                    + "lock error (fcntl's per-process deadlock detection answered one of them EDEADLK)")
    void twoJvmsManyThreads() throws Exception {
        List<String> blobs = new ArrayList<>();
        Random random = new Random(12);
        for (int i = 0; i < BLOBS; i++) {
            byte[] bytes = new byte[256 * 1024];
            random.nextBytes(bytes);
            Path blob = dir.resolve("blob" + i);
            Files.write(blob, bytes);
            blobs.add(blob.toString());
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int round = 0; round < 3; round++) {
            Path cache = dir.resolve("cache" + round);
            List<Process> jvms = new ArrayList<>();
            for (int jvm = 0; jvm < 2; jvm++) {
                List<String> order = new ArrayList<>(blobs);
                if (jvm == 1) {
                    Collections.reverse(order); // the other JVM locks them in the opposite order
                }
                List<String> command = new ArrayList<>(List.of(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        BlobStoreMain.class.getName(),
                        cache.toString(),
                        String.valueOf(THREADS_PER_BLOB)));
                command.addAll(order);
                jvms.add(new ProcessBuilder(command).redirectErrorStream(true).start());
            }
            List<String> downloaded = new ArrayList<>();
            for (Process jvm : jvms) {
                String output = new String(jvm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(jvm.waitFor(120, TimeUnit.SECONDS)).isTrue();
                assertThat(jvm.exitValue()).as("round " + round + ": " + output).isZero();
                output.lines().filter(line -> line.startsWith("downloaded ")).forEach(downloaded::add);
            }
            assertThat(downloaded).as("round " + round).hasSize(BLOBS).doesNotHaveDuplicates();
            for (String blob : blobs) {
                String hex = Digests.sha256Hex(Files.readAllBytes(Path.of(blob)));
                assertThat(cache.resolve("blobs/sha256/" + hex)).hasSameBinaryContentAs(Path.of(blob));
                assertThat(cache.resolve("blobs/sha256/" + hex + ".partial")).doesNotExist();
            }
        }
    }
}
