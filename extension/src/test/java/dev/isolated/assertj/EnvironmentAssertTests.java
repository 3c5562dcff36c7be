package dev.isolated.assertj;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static dev.isolated.assertj.IsolatedAssertions.assertThatMounts;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.MountInfo;
import dev.isolated.ProcessInfo;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("environment, process and mount assertions")
class EnvironmentAssertTests {
    static final List<MountInfo> MOUNTS = List.of(
            MountInfo.parse("40 30 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l"),
            MountInfo.parse("41 40 0:51 / /proc rw,nosuid - proc proc rw"),
            MountInfo.parse("42 40 0:52 / /tmp rw - tmpfs tmpfs rw"));

    @Test
    @DisplayName("mounts: containsMount checks the type and lists every mount on failure")
    void mounts() {
        assertThatMounts(MOUNTS)
                .containsMount("/proc", "proc")
                .containsMountPoint("/tmp")
                .doesNotContainMountPoint("/sys");

        assertThatThrownBy(() -> assertThatMounts(MOUNTS).containsMount("/tmp", "proc"))
                .hasMessageContaining("Expected proc to be mounted at /tmp but it is tmpfs")
                .hasMessageContaining("/proc proc proc rw,nosuid");
        assertThatThrownBy(() -> assertThatMounts(MOUNTS).containsMountPoint("/sys"))
                .hasMessageContaining("Expected a mount at /sys but the mounts are:");
        assertThatThrownBy(() -> assertThatMounts(MOUNTS).doesNotContainMountPoint("/tmp"))
                .hasMessageContaining("Expected no mount at /tmp");
    }

    @Test
    @DisplayName("a process: hasCommand shows the pid and command line on failure")
    void process() {
        ProcessInfo init = new ProcessInfo(1, 4242, "isolated-init", "isolated-init");
        assertThat(init).hasCommand("isolated-init").hasPid(1);

        assertThatThrownBy(() -> assertThat(init).hasCommand("sh"))
                .hasMessageContaining("Expected process 1 to be command \"sh\" but it is \"isolated-init\"");
    }

    @Test
    @DisplayName("mountinfo lines with escaped spaces are parsed")
    void escapedMountPoint() {
        MountInfo m = MountInfo.parse("50 40 0:60 / /mnt/with\\040space rw shared:1 - tmpfs none rw");

        org.assertj.core.api.Assertions.assertThat(m.mountPoint()).isEqualTo("/mnt/with space");
        org.assertj.core.api.Assertions.assertThat(m.fsType()).isEqualTo("tmpfs");
    }

    @Test
    @DisplayName("pid1() navigates to the environment's PID 1 and reports a mismatch")
    @Isolated(rootfs = "busybox.tar")
    void pid1(IsolatedEnvironment env) {
        assertThat(env).pid1().hasPid(1).hasCommand("isolated-init");
        assertThatThrownBy(() -> assertThat(env).pid1().hasCommand("systemd"))
                .hasMessageContaining("Expected process 1 to be command \"systemd\" but it is \"isolated-init\"");
    }
}
