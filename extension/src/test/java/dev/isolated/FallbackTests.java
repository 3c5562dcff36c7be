package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.internal.helper.HelperBinary;
import dev.isolated.internal.image.RootfsImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("fallbacks for optional kernel features")
class FallbackTests {

    @Test
    @DisplayName("without overlayfs the rootfs is copied into a tmpfs: writable, private, the image untouched")
    void copyInsteadOfOverlay() throws Exception {
        Path rootfs = RootfsImages.unpacked("busybox.tar", getClass().getClassLoader());

        String[] out = run(
                "--rootfs-mode",
                "copy",
                "--rootfs",
                rootfs.toString(),
                "--",
                "sh",
                "-c",
                "echo copied > /etc/fallback && cat /etc/fallback && awk '$5 == \"/\"' /proc/self/mountinfo");

        assertThat(out[0]).as(out[1]).isEqualTo("0");
        assertThat(out[1]).startsWith("copied\n").contains(" - tmpfs ").doesNotContain("overlay");
        assertThat(rootfs.resolve("etc/fallback")).doesNotExist();
    }

    @Test
    @DisplayName("without openat2 mount targets are resolved by a component walk, with the same result")
    void noOpenat2() throws Exception {
        Path rootfs = RootfsImages.unpacked("busybox.tar", getClass().getClassLoader());
        Path host = Files.createTempDirectory("isolated-fallback-");
        // as root, root inside is an id of the env's range: it writes a bind only where others may
        Files.setPosixFilePermissions(host, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        try {
            String[] out = runWithEnv(
                    "ISOLATED_HELPER_NO_OPENAT2",
                    "1",
                    "--rootfs",
                    rootfs.toString(),
                    "--bind",
                    host + ":/mnt/host",
                    "--",
                    "sh",
                    "-c",
                    "echo walked > /mnt/host/f");
            assertThat(out[0]).as(out[1]).isEqualTo("0");
            assertThat(host.resolve("f")).content().isEqualTo("walked\n");
        } finally {
            Files.deleteIfExists(host.resolve("f"));
            Files.delete(host);
        }
    }

    private static String[] run(String... args) throws IOException, InterruptedException {
        return runWithEnv(null, null, args);
    }

    private static String[] runWithEnv(String key, String value, String... args)
            throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(HelperBinary.locate().toString(), "run"));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        if (key != null) {
            pb.environment().put(key, value);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new String[] {Integer.toString(p.waitFor()), out};
    }
}
