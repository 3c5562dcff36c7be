package dev.isolated.samples;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.ExecResult;
import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Walk-through step 3: in a new PID namespace {@code ps} sees only the environment, with its own PID 1. */
@Isolated(
        rootfs = "busybox.tar",
        namespaces = {PID, MOUNT})
class PidNamespaceTests {

    @Test
    void psSeesTheEnvironmentsInitAsPid1AndNoHostProcess(IsolatedEnvironment env) {
        ExecResult ps = env.exec("ps", "-o", "pid,comm");

        assertThat(ps).succeeded();
        List<String> rows = ps.stdoutLines().subList(1, ps.stdoutLines().size());
        assertThat(rows).extracting(String::strip).contains("1 isolated-init").anyMatch(r -> r.endsWith(" ps"));
        assertThat(rows)
                .as("no host process, such as this JVM, is visible")
                .noneMatch(r -> r.endsWith(" java"))
                .hasSize(2);
        assertThat(env).pid1().hasCommand("isolated-init");
    }

    @Test
    void asPid1TheCommandItselfIsPid1(IsolatedEnvironment env) {
        // unshare -p -f --mount-proc ps aux
        ExecResult ps = env.execAsPid1("ps", "-o", "pid,comm");

        assertThat(ps).succeeded().stdoutLines().extracting(String::strip).containsExactly("PID   COMMAND", "1 ps");
    }

    @Test
    void aBackgroundProcessIsAChildOfTheEnvironmentsPid1(IsolatedEnvironment env) {
        var sleeper = env.start("sleep", "300");

        assertThat(sleeper.pid()).isGreaterThan(1);
        assertThat(sleeper.hostPid()).isNotEqualTo(sleeper.pid());
        assertThat(env).processes().anySatisfy(p -> {
            assertThat(p.command()).isEqualTo("sleep");
            assertThat(p.pid()).isEqualTo(sleeper.pid());
        });
        assertThat(sleeper.kill()).exitedWith(137);
    }
}
