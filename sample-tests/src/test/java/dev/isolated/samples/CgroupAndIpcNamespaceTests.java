package dev.isolated.samples;

import static dev.isolated.LinuxNamespace.CGROUP;
import static dev.isolated.LinuxNamespace.IPC;
import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.ExecResult;
import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import org.junit.jupiter.api.Test;

/** The other namespaces a test may want: its own cgroup root and its own System V IPC objects. */
@Isolated(
        rootfs = "busybox.tar",
        namespaces = {PID, MOUNT, IPC, CGROUP})
class CgroupAndIpcNamespaceTests {

    @Test
    void theEnvironmentSeesItsCgroupAsTheRoot(IsolatedEnvironment env) {
        ExecResult cgroups = env.exec("cat", "/proc/self/cgroup");

        assertThat(cgroups).succeeded();
        assertThat(cgroups.stdoutLines())
                .isNotEmpty()
                .allSatisfy(line -> assertThat(line).endsWith(":/"));
    }

    @Test
    void aHostMessageQueueIsInvisibleInside(IsolatedEnvironment env) throws Exception {
        String id = host("ipcmk", "-Q").replaceAll("\\D+", "");
        try {
            assertThat(java.nio.file.Files.readString(java.nio.file.Paths.get("/proc/sysvipc/msg")))
                    .as("the host's queue exists")
                    .containsPattern("\\s" + id + "\\s");
            assertThat(env.exec("cat", "/proc/sysvipc/msg").stdoutLines())
                    .as("only the header line inside")
                    .hasSize(1);
        } finally {
            host("ipcrm", "-q", id);
        }
    }

    private static String host(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
        return out.strip();
    }
}
