package dev.isolated;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Not in {@link ResourceLimitTests}: CgroupV2HostTests runs that class where limits cannot apply at all. */
@DisplayName("a memory limit the environment's own setup does not fit in")
class TinyMemoryLimitTests {

    @Test
    @DisplayName("fails its creation at stage cgroup, the test's fault, saying the OOM killer took the init")
    void initOomKilled() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .memoryBytes(4096)
                        .start()
                        .close())
                .isInstanceOf(EnvironmentSetupException.class)
                .hasMessage("Isolated environment setup failed at stage 'cgroup': oom-kill (init): Cannot allocate "
                        + "memory (ENOMEM)\nHint: the out-of-memory killer killed the init while it set the "
                        + "environment up: the memory limit is too small for it; give it more (a few MiB at least)");
    }
}
