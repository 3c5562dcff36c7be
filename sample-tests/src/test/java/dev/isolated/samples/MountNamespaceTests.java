package dev.isolated.samples;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Capabilities;
import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.MountInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Walk-through step 4: a tmpfs mounted in a new mount namespace is invisible to the host. Mounting needs
 * {@code CAP_SYS_ADMIN}: like {@code unshare -m}, this test keeps all capabilities (the default is Docker's set).
 */
@Isolated(
        rootfs = "busybox.tar",
        namespaces = {PID, MOUNT},
        capabilities = Capabilities.ALL)
class MountNamespaceTests {

    @Test
    void aTmpfsMountedInsideIsNotInTheHostsMountTable(IsolatedEnvironment env) throws IOException {
        List<String> hostBefore = hostMountinfo();

        assertThat(
                        env.exec(
                                "sh",
                                "-c",
                                "mkdir -p /mnt/scratch && mount -t tmpfs walkthrough-scratch /mnt/scratch && touch /mnt/scratch/x"))
                .succeeded();

        assertThat(env.exec("grep", "walkthrough-scratch", "/proc/self/mountinfo"))
                .succeeded()
                .stdout()
                .contains(" /mnt/scratch ")
                .contains("tmpfs");
        assertThat(env).mounts().containsMount("/mnt/scratch", "tmpfs");
        List<String> hostAfter = hostMountinfo();
        assertThat(hostAfter).noneMatch(line -> line.contains("walkthrough-scratch"));
        assertThat(hostAfter).hasSameSizeAs(hostBefore);
    }

    @Test
    void theEnvironmentSeesOnlyItsOwnMounts(IsolatedEnvironment env) throws IOException {
        assertThat(env)
                .mounts()
                .containsMount("/", "overlay")
                .containsMount("/proc", "proc")
                .containsMount("/dev", "tmpfs")
                .containsMount("/tmp", "tmpfs")
                .doesNotContainMountPoint("/sys");
        List<String> inside = env.mounts().stream().map(MountInfo::mountPoint).toList();
        assertThat(inside)
                .allMatch(p -> p.equals("/") || p.startsWith("/dev") || p.startsWith("/proc") || p.equals("/tmp"));
        assertThat(hostMountinfo())
                .as("the host has mounts the environment does not see")
                .isNotEmpty();
    }

    private static List<String> hostMountinfo() throws IOException {
        return Files.readAllLines(Paths.get("/proc/self/mountinfo"));
    }
}
