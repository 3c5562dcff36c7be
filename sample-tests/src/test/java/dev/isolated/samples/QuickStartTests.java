package dev.isolated.samples;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;

import dev.isolated.ExecResult;
import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import org.junit.jupiter.api.Test;

/** The README's quick start, verbatim. */
@Isolated(
        rootfs = "busybox.tar",
        namespaces = {PID, MOUNT, UTS},
        hostname = "box")
class QuickStartTests {

    @Test
    void psSeesOnlyTheEnvironment(IsolatedEnvironment env) {
        ExecResult ps = env.exec("ps", "-o", "pid,comm");

        assertThat(ps).succeeded().stdout().contains("isolated-init");
        assertThat(env).pid1().hasCommand("isolated-init");
        assertThat(env).hostname().isEqualTo("box");
        assertThat(env).mounts().containsMount("/proc", "proc");
    }
}
