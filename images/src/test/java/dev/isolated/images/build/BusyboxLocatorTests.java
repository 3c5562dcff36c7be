package dev.isolated.images.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BusyboxLocatorTests {

    /** The JVM's launcher: present on every machine that runs this test, and dynamically linked. */
    private static final Path DYNAMIC_EXECUTABLE = Path.of(System.getProperty("java.home"), "bin", "java");

    @Test
    @DisplayName("finds the host's static busybox and lists its applets")
    void findsBusybox() {
        Busybox busybox = BusyboxLocator.standard().locate();

        assertThat(busybox.binary()).isIn(BusyboxLocator.STANDARD_LOCATIONS);
        assertThat(busybox.applets())
                .contains("bin/sh", "bin/ls", "usr/bin/env")
                .isSorted();
    }

    @Test
    @DisplayName("takes the first candidate that exists")
    void firstExisting(@TempDir Path dir) {
        Busybox busybox = new BusyboxLocator(List.of(dir.resolve("missing"), Path.of("/bin/busybox"))).locate();

        assertThat(busybox.binary()).isEqualTo(Path.of("/bin/busybox"));
    }

    @Test
    @DisplayName("a missing busybox fails naming busybox-static and how to install it")
    void missing(@TempDir Path dir) {
        Path nowhere = dir.resolve("busybox");

        assertThatThrownBy(() -> new BusyboxLocator(List.of(nowhere)).locate())
                .isInstanceOf(ImageBuildException.class)
                .hasMessageContaining("busybox not found")
                .hasMessageContaining(nowhere.toString())
                .hasMessageContaining("busybox-static")
                .hasMessageContaining("apt-get install busybox-static");
    }

    @Test
    @DisplayName("a dynamically linked busybox fails naming busybox-static")
    void dynamicallyLinked() {
        assertThatThrownBy(() -> new BusyboxLocator(List.of(DYNAMIC_EXECUTABLE)).locate())
                .isInstanceOf(ImageBuildException.class)
                .hasMessageContaining(DYNAMIC_EXECUTABLE + " is dynamically linked")
                .hasMessageContaining("apt-get install busybox-static");
    }

    @Test
    @DisplayName("a file that is not ELF fails")
    void notElf(@TempDir Path dir) throws IOException {
        Path script = Files.writeString(dir.resolve("busybox"), "#!/bin/sh\necho hi\n".repeat(10));

        assertThatThrownBy(() -> new BusyboxLocator(List.of(script)).locate())
                .isInstanceOf(ImageBuildException.class)
                .hasMessageContaining("is not an ELF executable");
    }

    @Test
    @DisplayName("ELF headers tell static from dynamic programs")
    void elfInterpreter() throws IOException {
        assertThat(ElfFile.read(Path.of("/bin/busybox")).isStaticallyLinked()).isTrue();
        assertThat(ElfFile.read(DYNAMIC_EXECUTABLE).hasInterpreter()).isTrue();
    }
}
