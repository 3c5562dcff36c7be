package dev.isolated.samples;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.ExecResult;
import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Walk-through step 1: an image is a tar of a rootfs, and the environment's {@code /} is that rootfs. */
@Isolated(rootfs = "busybox.tar")
class ChrootTests {

    @Test
    void lsSeesTheImagesRootNotTheHosts(IsolatedEnvironment env) throws IOException {
        ExecResult ls = env.exec("ls", "/");

        assertThat(ls).succeeded();
        assertThat(ls.stdout().split("\\s+")).contains("bin", "etc", "proc", "tmp");
        List<String> hostOnly = hostRootEntriesMissingFromTheImage();
        assertThat(hostOnly)
                .as("the host has entries the image lacks, or this test proves nothing")
                .isNotEmpty();
        assertThat(ls.stdout().split("\\s+")).doesNotContainAnyElementsOf(hostOnly);
    }

    @Test
    void writesStayInTheEnvironment(IsolatedEnvironment env) {
        assertThat(env.exec("sh", "-c", "echo scribble > /etc/motd && cat /etc/motd"))
                .succeeded()
                .stdout()
                .isEqualTo("scribble\n");

        assertThat(Paths.get("/etc/motd"))
                .satisfiesAnyOf(
                        p -> assertThat(p).doesNotExist(),
                        p -> assertThat(p).content().doesNotContain("scribble"));
    }

    @Test
    void aFreshEnvironmentDoesNotSeeAnEarlierTestsWrites(IsolatedEnvironment env) {
        assertThat(env.exec("cat", "/etc/motd")).exitedWith(1).stderr().contains("No such file");
    }

    private static List<String> hostRootEntriesMissingFromTheImage() throws IOException {
        Set<String> image = Set.of(
                "bin", "dev", "etc", "proc", "root", "sbin", "sys", "tmp", "usr", "lib", "lib64", "var", "home", "mnt");
        try (Stream<Path> entries = Files.list(Paths.get("/"))) {
            return entries.map(p -> p.getFileName().toString())
                    .filter(n -> !image.contains(n))
                    .collect(Collectors.toList());
        }
    }
}
