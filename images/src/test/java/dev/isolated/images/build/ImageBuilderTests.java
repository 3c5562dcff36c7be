package dev.isolated.images.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageBuilderTests {

    private static final Path HELLO_SOURCE =
            Path.of(System.getProperty("isolated.images.hello.source", "src/main/c/hello.c"));

    @Test
    @DisplayName("two builds give byte-identical tars")
    void reproducible(@TempDir Path first, @TempDir Path second) throws IOException {
        List<Path> one = builder().buildAll(first.resolve("out"), first.resolve("work"));
        List<Path> two = builder().buildAll(second.resolve("out"), second.resolve("work"));

        assertThat(one).extracting(p -> p.getFileName().toString()).containsExactly("busybox.tar", "hello.tar");
        for (int i = 0; i < one.size(); i++) {
            assertThat(Files.readAllBytes(one.get(i)))
                    .as(one.get(i).getFileName().toString())
                    .isEqualTo(Files.readAllBytes(two.get(i)));
        }
    }

    @Test
    @DisplayName("the compiled hello program prints Hello, World")
    void helloRuns(@TempDir Path dir) throws Exception {
        Path hello = HelloCompiler.onPath(System.getenv()).compile(HELLO_SOURCE, dir.resolve("hello"));

        Process process =
                new ProcessBuilder(hello.toString()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);

        assertThat(process.waitFor()).isZero();
        assertThat(output).isEqualTo("Hello, World\n");
        assertThat(ElfFile.read(hello).isStaticallyLinked()).isTrue();
    }

    @Test
    @DisplayName("applet symlinks are relative to where they live")
    void relativeTargets() {
        assertThat(ImageBuilder.relativeTarget("bin/sh", "bin/busybox")).isEqualTo("busybox");
        assertThat(ImageBuilder.relativeTarget("sbin/ip", "bin/busybox")).isEqualTo("../bin/busybox");
        assertThat(ImageBuilder.relativeTarget("usr/bin/env", "bin/busybox")).isEqualTo("../../bin/busybox");
        assertThat(ImageBuilder.relativeTarget("linuxrc", "bin/busybox")).isEqualTo("bin/busybox");
    }

    @Test
    @DisplayName("the mtime is read as ISO-8601 or as seconds since the epoch")
    void mtimeForms() {
        assertThat(ImageBuilder.parseMtime("2026-01-01T00:00:00Z")).isEqualTo(Instant.ofEpochSecond(1767225600));
        assertThat(ImageBuilder.parseMtime("1767225600")).isEqualTo(Instant.ofEpochSecond(1767225600));
        assertThatThrownBy(() -> ImageBuilder.parseMtime("yesterday"))
                .isInstanceOf(ImageBuildException.class)
                .hasMessageContaining("'yesterday'")
                .hasMessageContaining("project.build.outputTimestamp");
    }

    @Test
    @DisplayName("a missing gcc fails naming the package to install")
    void missingGcc(@TempDir Path emptyDir) {
        assertThatThrownBy(() -> HelloCompiler.onPath(Map.of("PATH", emptyDir.toString())))
                .isInstanceOf(ImageBuildException.class)
                .hasMessageContaining("gcc not found on PATH")
                .hasMessageContaining("package gcc")
                .hasMessageContaining("apt-get install gcc");
    }

    private static ImageBuilder builder() {
        return new ImageBuilder(
                BusyboxLocator.standard(),
                HelloCompiler.onPath(System.getenv()),
                HELLO_SOURCE,
                Instant.parse("2026-01-01T00:00:00Z"));
    }
}
