package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("/proc inside: the kernel-wide knobs are read-only and host internals are masked, as in Docker")
@Isolated(rootfs = "busybox.tar")
class ProcProtectionTests {

    @Test
    @DisplayName("host-wide sysctls cannot be written by root inside (even writing back the same value)")
    void sysctlsAreReadOnly(IsolatedEnvironment env) {
        assertThat(env.exec("sh", "-c", "cat /proc/sys/vm/swappiness > /proc/sys/vm/swappiness"))
                .failed()
                .stderr()
                .contains("Read-only file system");
        assertThat(env.exec("cat", "/proc/sys/kernel/ostype"))
                .succeeded()
                .stdout()
                .isEqualTo("Linux\n");
    }

    @Test
    @DisplayName("sys, sysrq-trigger, irq, bus and fs are read-only mounts; kcore, keys, timer_list... read as empty")
    void mountsAsMountinfoShowsThem(IsolatedEnvironment env) {
        List<String> readOnly =
                existingOnHost("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs");
        List<String> masked = existingOnHost("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug");
        assertThat(readOnly).as("this kernel has them").contains("/proc/sys");
        assertThat(masked).as("this kernel has them").contains("/proc/keys");
        for (String path : readOnly) {
            assertThat(env.mounts()).as(path).anySatisfy(m -> {
                assertThat(m.mountPoint()).isEqualTo(path);
                assertThat(m.options()).matches("(.*,)?ro(,.*)?");
            });
        }
        for (String path : masked) {
            assertThat(env.exec("sh", "-c", "wc -c < " + path))
                    .as(path)
                    .succeeded()
                    .stdout()
                    .isEqualTo("0\n");
        }
    }

    private static List<String> existingOnHost(String... paths) {
        return Stream.of(paths).filter(p -> Files.exists(Path.of(p))).toList();
    }

    @Test
    @DisplayName("ps, /proc/self and a nested PID namespace's own /proc still work")
    void procStillWorks(IsolatedEnvironment env) {
        assertThat(env.exec("sh", "-c", "readlink /proc/self/exe; ps -o pid,comm | grep -c ps"))
                .succeeded()
                .stdout()
                .isEqualTo("/bin/busybox\n1\n");
        assertThat(env.execAsPid1("ps", "-o", "pid,comm")).succeeded().stdout().contains("    1 ps");
    }
}
