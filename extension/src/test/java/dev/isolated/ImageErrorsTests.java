package dev.isolated;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.image.ImageException;
import dev.isolated.internal.image.ImageSettingsException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a test gets when its image cannot be used: the types IsolatedEnvironmentBuilder.start() documents. */
@DisplayName("image failures reach a test as ImageException, a wrong image setting as IsolatedException")
class ImageErrorsTests {

    @Test
    @DisplayName("a rootfs that is nowhere is an ImageException listing the places tried")
    void notFound() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .rootfs("no-such-image-anywhere.tar")
                        .start())
                .isInstanceOf(ImageException.class)
                .hasMessageStartingWith("Image 'no-such-image-anywhere.tar' not found. Tried:\n");
    }

    @Test
    @DisplayName("an invalid isolated.pull is an IsolatedException with the image code's message")
    void invalidPullSetting() {
        Map<String, String> settings = Map.of(IsolatedConfiguration.PULL, "sometimes");
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .configuration(key -> Optional.ofNullable(settings.get(key)))
                        .image("127.0.0.1:1/team/app:1")
                        .start())
                .isInstanceOf(IsolatedException.class)
                .isNotInstanceOf(ImageException.class)
                .hasMessage("isolated.pull=sometimes is not valid: write missing, always or never")
                .hasCauseInstanceOf(ImageSettingsException.class);
    }

    @TempDir
    Path dir;

    @Test
    @DisplayName("a tar entry that tries to write outside its root: an ImageException naming the file and the entry")
    void entryOutsideTheRoot() throws IOException {
        Path tar = tar("escape.tar", "../../outside");
        assertThatThrownBy(() -> IsolatedEnvironment.builder().rootfs(tar).start())
                .isInstanceOf(ImageException.class)
                .hasMessage("Image file " + tar + ": entry '../../outside' is refused: its name '../../outside' climbs"
                        + " out of the rootfs with '..'");
    }

    @Test
    @DisplayName("a truncated tar: an ImageException naming the file and the entry cut short")
    void truncatedTar() throws IOException {
        Path whole = tar("whole.tar", "data");
        Path cut = Files.write(dir.resolve("cut.tar"), Arrays.copyOf(Files.readAllBytes(whole), 512 + 100));
        assertThatThrownBy(() -> IsolatedEnvironment.builder().rootfs(cut).start())
                .isInstanceOf(ImageException.class)
                .hasMessage("Image file " + cut + " is truncated or corrupt in entry 'data': Truncated TAR archive");
    }

    @Test
    @DisplayName(
            "a registry that is down, with isolated.pull=always: an ImageException naming it and isolated.pull=missing")
    void registryDownWithPullAlways() throws IOException {
        String host;
        try (java.net.ServerSocket closedSoon =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            host = "127.0.0.1:" + closedSoon.getLocalPort(); // nothing listens there once it is closed
        }
        String name = host + "/team/app:1";
        Map<String, String> settings =
                Map.of(IsolatedConfiguration.PULL, "always", IsolatedConfiguration.REGISTRY_INSECURE, host);
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .configuration(key -> Optional.ofNullable(settings.get(key)))
                        .image(name)
                        .start())
                .isInstanceOf(ImageException.class)
                .hasMessageStartingWith(
                        "Image " + name + ": cannot reach http://" + host + ": java.net.ConnectException")
                .hasMessageEndingWith(
                        "; with isolated.pull=missing (the default) an image already stored is used without the registry");
    }

    /** A tar of one 4 KiB file of that name. */
    private Path tar(String archive, String entry) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(bytes)) {
            byte[] data = "x".repeat(4096).getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry(entry, true);
            e.setSize(data.length);
            out.putArchiveEntry(e);
            out.write(data);
            out.closeArchiveEntry();
        }
        return Files.write(dir.resolve(archive), bytes.toByteArray());
    }
}
