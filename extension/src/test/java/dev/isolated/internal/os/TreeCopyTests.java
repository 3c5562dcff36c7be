package dev.isolated.internal.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("TreeCopy: descriptor-relative copies with bounds")
class TreeCopyTests {
    @TempDir
    Path dir;

    @Test
    @DisplayName(
            "with markers: FIFOs, too large files, too deep directories and what is past the total become <name>.skipped")
    void bounds() throws Exception {
        Path src = Files.createDirectories(dir.resolve("src/d1/d2/d3"));
        Files.writeString(dir.resolve("src/a-small"), "0123456789");
        Files.writeString(dir.resolve("src/b-large"), "0123456789A");
        Files.writeString(dir.resolve("src/c-small"), "0123456789");
        Files.writeString(dir.resolve("src/d-small"), "0123456789");
        Files.writeString(src.resolve("deep"), "deep");
        Files.createSymbolicLink(dir.resolve("src/link"), Paths.get("/etc/shadow"));
        assertThat(new ProcessBuilder("mkfifo", dir.resolve("src/pipe").toString())
                        .start()
                        .waitFor())
                .isZero();

        TreeCopy copy = new TreeCopy(new TreeCopy.Limits(10, 25, 100, 2, true));
        try (HostDirectory to = HostDirectory.open(Files.createDirectory(dir.resolve("to")))) {
            copy.copyChildren(dir.resolve("src"), "src", to);
        }

        Path to = dir.resolve("to");
        assertThat(to.resolve("a-small")).content().isEqualTo("0123456789");
        assertThat(to.resolve("b-large.skipped")).content().isEqualTo("larger than 10 bytes (11 bytes)\n");
        assertThat(to.resolve("c-small")).content().isEqualTo("0123456789");
        assertThat(to.resolve("d-small")).doesNotExist();
        assertThat(to.resolve("d-small.skipped")).content().startsWith("10 bytes, beyond the copy's bound");
        assertThat(to.resolve("d1/d2")).isDirectory();
        assertThat(to.resolve("d1/d2/d3")).doesNotExist();
        assertThat(to.resolve("d1/d2/d3.skipped")).content().isEqualTo("a directory deeper than 2 levels\n");
        assertThat(Files.readSymbolicLink(to.resolve("link"))).isEqualTo(Paths.get("/etc/shadow"));
        assertThat(to.resolve("pipe.skipped")).content().isEqualTo("a FIFO, not opened\n");
        assertThat(copy.leftOut()).hasSize(4);
        assertThat(copy.stoppedEarly()).isFalse();
    }

    @Test
    @DisplayName("stops after maxEntries entries and says so")
    void entries() throws Exception {
        Path src = Files.createDirectories(dir.resolve("src"));
        for (int i = 0; i < 10; i++) {
            Files.writeString(src.resolve("f" + i), "x");
        }
        TreeCopy copy = new TreeCopy(new TreeCopy.Limits(10, 100, 4, 2, true));
        try (HostDirectory to = HostDirectory.open(Files.createDirectory(dir.resolve("to")))) {
            copy.copyChildren(src, "src", to);
        }
        try (var names = Files.list(dir.resolve("to"))) {
            assertThat(names).hasSize(4);
        }
        assertThat(copy.stoppedEarly()).isTrue();
    }

    @Test
    @DisplayName("never creates over an existing name, a symlink there included")
    void neverReplaces() throws IOException {
        Path canary = Files.writeString(dir.resolve("canary"), "canary");
        Files.createSymbolicLink(dir.resolve("link"), canary);
        Files.createDirectory(dir.resolve("dir"));
        try (HostDirectory to = HostDirectory.open(dir)) {
            assertThatThrownBy(() -> to.createFile("link", 0644)).isInstanceOf(FileAlreadyExistsException.class);
            assertThatThrownBy(() -> to.mkdir("link")).isInstanceOf(FileAlreadyExistsException.class);
            assertThatThrownBy(() -> to.symlink("dir", "x")).isInstanceOf(FileAlreadyExistsException.class);
            assertThat(to.has("link")).isTrue();
            assertThat(to.has("nothing")).isFalse();
        }
        assertThat(canary).content().isEqualTo("canary");
    }
}
