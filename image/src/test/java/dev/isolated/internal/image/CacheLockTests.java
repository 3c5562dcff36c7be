package dev.isolated.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheLockTests {

    @TempDir
    Path dir;

    @Test
    @DisplayName("shared holds are counted per JVM: tryExclusive fails until the last is given back")
    void sharedHoldsCounted() throws IOException {
        CacheLock lock = CacheLock.of(dir.toRealPath().resolve("a.lock"));
        lock.acquireShared();
        lock.acquireShared();

        assertThat(lock.tryExclusive()).isFalse();
        lock.releaseShared();
        assertThat(lock.tryExclusive()).as("one hold left").isFalse();
        lock.releaseShared();
        assertThat(lock.tryExclusive()).isTrue();
        lock.releaseExclusive();
    }

    @Test
    @DisplayName("a wait for exclusive ends without the lock once the work it guards is found done")
    void exclusiveUnnecessary() throws IOException {
        CacheLock lock = CacheLock.of(dir.toRealPath().resolve("c.lock"));
        lock.acquireShared();
        try {
            assertThat(lock.acquireExclusive(() -> true)).isFalse();
        } finally {
            lock.releaseShared();
        }
        assertThat(lock.acquireExclusive(() -> false)).isTrue();
        lock.releaseExclusive();
    }

    @Test
    @DisplayName("exclusive waits for this JVM's shared holds, and shared waits for exclusive")
    void exclusiveWaitsForShared() throws Exception {
        CacheLock lock = CacheLock.of(dir.toRealPath().resolve("b.lock"));
        lock.acquireShared();
        CompletableFuture<Void> exclusive = CompletableFuture.runAsync(() -> {
            try {
                lock.acquireExclusive(() -> false);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Awaitility.await()
                .during(Duration.ofMillis(300))
                .atMost(Duration.ofSeconds(2))
                .until(() -> !exclusive.isDone());

        lock.releaseShared();
        exclusive.get(10, TimeUnit.SECONDS);
        CompletableFuture<Void> shared = CompletableFuture.runAsync(() -> {
            try {
                lock.acquireShared();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Awaitility.await()
                .during(Duration.ofMillis(300))
                .atMost(Duration.ofSeconds(2))
                .until(() -> !shared.isDone());
        lock.releaseExclusive();
        shared.get(10, TimeUnit.SECONDS);
        assertThat(lock.sharedHolds()).isEqualTo(1);
        lock.releaseShared();
    }

    @Test
    @DisplayName(
            "the lock file's descriptor is closed while this JVM holds no lock on it, and opened again for the next")
    void descriptorClosedWhileIdle() throws IOException {
        Path file = dir.toRealPath().resolve("d.lock");
        CacheLock lock = CacheLock.of(file);
        assertThat(lock.acquireExclusive(() -> false)).isTrue();
        assertThat(openDescriptors(file)).isEqualTo(1);
        lock.releaseExclusive();
        assertThat(openDescriptors(file)).isZero();
        lock.acquireShared();
        lock.acquireShared();
        assertThat(openDescriptors(file)).isEqualTo(1);
        lock.releaseShared();
        assertThat(openDescriptors(file)).as("one hold left").isEqualTo(1);
        lock.releaseShared();
        assertThat(openDescriptors(file)).isZero();
    }

    private static long openDescriptors(Path file) throws IOException {
        try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                        try {
                            return java.nio.file.Files.readSymbolicLink(fd).equals(file);
                        } catch (IOException e) {
                            return false; // closed meanwhile (the listing's own descriptor)
                        }
                    })
                    .count();
        }
    }
}
