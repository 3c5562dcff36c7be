package dev.isolated;

import static dev.isolated.Namespace.MOUNT;
import static dev.isolated.Namespace.PID;
import static dev.isolated.Namespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("code under test that takes a ProcessBuilder, and commands as another user")
@Isolated(rootfs = "busybox.tar", namespaces = {PID, MOUNT, UTS}, hostname = "pb-box")
class ProcessBuilderTests {

    @Test
    @DisplayName("processBuilder gives a real ProcessBuilder whose process runs inside the environment")
    void processBuilder(IsolatedEnvironment env) throws Exception {
        ProcessBuilder pb = env.processBuilder("sh", "-c", "hostname; echo $GREETING; cat /etc/hostname; exit 3");
        pb.environment().put("GREETING", "hello");

        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(p.waitFor()).isEqualTo(3);
        assertThat(out).isEqualTo("pb-box\nhello\nisolated\n");
        assertThat(pb.environment()).doesNotContainKey("JAVA_HOME");
    }

    @Test
    @DisplayName("withUser runs a command as another uid and gid inside")
    void asAnotherUser(IsolatedEnvironment env) {
        assertThat(env.exec(Command.of("id").withUser(1000, 1000))).succeeded().stdout()
                .startsWith("uid=1000 gid=1000");
        assertThat(env.exec(Command.of("touch", "/etc/by-user").withUser(1000, 1000))).failed().stderr()
                .contains("Permission denied");
    }
}
