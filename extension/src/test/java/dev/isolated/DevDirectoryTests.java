package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("every environment's /dev")
@Isolated(rootfs = "busybox.tar")
class DevDirectoryTests {

    @Test
    @DisplayName("holds the six devices, devpts at pts, a tmpfs shm, and the ptmx, fd, stdin, stdout and stderr links")
    void minimalDev(IsolatedEnvironment env) {
        assertThat(env.exec("ls", "-A", "/dev"))
                .succeeded()
                .stdout()
                .isEqualTo("fd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n");
        assertThat(env.exec(
                        "sh",
                        "-c",
                        "for f in full null random tty urandom zero; do test -c /dev/$f || echo $f; done;"
                                + " for l in ptmx fd stdin stdout stderr; do echo $l=$(readlink /dev/$l); done"))
                .succeeded()
                .stdout()
                .isEqualTo("ptmx=pts/ptmx\nfd=/proc/self/fd\nstdin=/proc/self/fd/0\nstdout=/proc/self/fd/1\n"
                        + "stderr=/proc/self/fd/2\n");
        Map<String, String> types = env.mounts().stream()
                .filter(m -> m.mountPoint().equals("/dev/pts") || m.mountPoint().equals("/dev/shm"))
                .collect(Collectors.toMap(MountInfo::mountPoint, MountInfo::fsType));
        assertThat(types).isEqualTo(Map.of("/dev/pts", "devpts", "/dev/shm", "tmpfs"));
    }
}
