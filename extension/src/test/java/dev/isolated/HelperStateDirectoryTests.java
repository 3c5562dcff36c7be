package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("the helper's state directory, which holds the environments' mount points and writable trees")
class HelperStateDirectoryTests {

    private static final Path BUSYBOX =
            Files.exists(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");

    @Test
    @DisplayName(
            "is 0700: another user cannot reach the mount points of environments (here one without a mount namespace)")
    void privateStateDirectory() throws IOException, InterruptedException {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(LinuxNamespace.PID)
                .start()) {
            assertThat(env.exec("sh", "-c", "echo secret > /root/planted")).succeeded();
            Path stateDir = stateDirectoryOfOurHelper();
            assertThat((Integer) Files.getAttribute(stateDir, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777)
                    .as("the mode of %s", stateDir)
                    .isEqualTo(0700);
            try (var children = Files.list(stateDir)) {
                // without a mount namespace the environment's tree is mounted below the state directory
                assertThat(children.map(p -> p.getFileName().toString()))
                        .as("in " + stateDir)
                        .anyMatch(n -> n.startsWith("env-"));
            }

            Process nobody = new ProcessBuilder(
                            "setpriv",
                            "--reuid",
                            "65534",
                            "--regid",
                            "65534",
                            "--clear-groups",
                            BUSYBOX.toString(),
                            "ls",
                            stateDir.toString())
                    .redirectErrorStream(true)
                    .start();
            String output = new String(nobody.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(nobody.waitFor()).as(output).isNotZero();
            assertThat(output).contains("Permission denied");
        }
    }

    /** The {@code --state-dir} argument of the {@code isolated-helper serve} child of this JVM. */
    private static Path stateDirectoryOfOurHelper() {
        List<String> arguments = ProcessHandle.current()
                .children()
                .map(child -> child.info().arguments().map(Arrays::asList).orElse(List.of()))
                .filter(args -> args.contains("serve") && args.contains("--state-dir"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no isolated-helper serve child of this JVM"));
        return Path.of(arguments.get(arguments.indexOf("--state-dir") + 1));
    }
}
