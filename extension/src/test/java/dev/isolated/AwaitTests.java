package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("waiting on daemons")
@Isolated(
        rootfs = "busybox.tar",
        namespaces = {PID, MOUNT, NET})
class AwaitTests {

    @Test
    @DisplayName("awaitOutput returns the first matching line")
    void awaitOutput(IsolatedEnvironment env) {
        IsolatedProcess daemon = env.start("sh", "-c", "sleep 0.2; echo 'listening on 7000'; exec sleep 1000");

        assertThat(daemon.awaitOutput(Pattern.compile("listening on \\d+"))).isEqualTo("listening on 7000");
    }

    @Test
    @DisplayName("awaitOutput finds a line printed before it was called, on stderr, and an unterminated one")
    void awaitOutputEarlierAndUnterminated(IsolatedEnvironment env) {
        IsolatedProcess daemon = env.start("sh", "-c", "echo 'on stderr' >&2; printf 'no newline'; exec sleep 1000");
        assertThat(daemon.awaitOutput(Pattern.compile("newline"))).isEqualTo("no newline");

        assertThat(daemon.awaitOutput(Pattern.compile("stderr"))).isEqualTo("on stderr");
    }

    @Test
    @DisplayName("awaitPort waits until a port listens in the environment's network namespace")
    void awaitPort(IsolatedEnvironment env) {
        env.start("sh", "-c", "sleep 0.2; exec nc -l -p 7000");

        env.awaitPort(7000);

        assertThat(env.exec("netstat", "-ltn")).stdout().contains(":7000");
    }

    @Test
    @DisplayName("awaitFile waits until a path exists in the environment")
    void awaitFile(IsolatedEnvironment env) {
        env.start("sh", "-c", "sleep 0.2; echo ready > /tmp/ready");

        env.awaitFile("/tmp/ready");

        assertThat(env.readString("/tmp/ready")).isEqualTo("ready\n");
    }

    @Test
    @DisplayName("awaitExit returns the result")
    void awaitExit(IsolatedEnvironment env) {
        assertThat(env.start("sh", "-c", "sleep 0.1; exit 4").awaitExit()).exitedWith(4);
    }

    @Test
    @DisplayName(
            "time out with messages that show the output so far, or the ports that do listen, and the timeout's settings")
    void timeoutMessages() {
        EngineRunner.assertAllSucceeded(
                EngineRunner.run(TimeoutsTestCase.class, Map.of("isolated.await.timeout", "300ms")), 5);
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, NET})
    static class TimeoutsTestCase {
        /** How the messages name the await timeout of 300 ms, and the settings that lengthen it. */
        private static final String AWAIT_TIMEOUT =
                "300 ms (the await timeout: isolated.await.timeout, or builder().awaitTimeout(...))";

        @Test
        void output(IsolatedEnvironment env) {
            IsolatedProcess p = env.start("sh", "-c", "echo booting; exec sleep 1000");
            assertThatThrownBy(() -> p.awaitOutput(Pattern.compile("ready")))
                    .isInstanceOf(AwaitTimeoutException.class)
                    .hasMessage("No line of [sh, -c, echo booting; exec sleep 1000] matched /ready/ within "
                            + AWAIT_TIMEOUT + "; stdout so far: \"booting\n\"; stderr so far: (empty)");
        }

        @Test
        void port(IsolatedEnvironment env) {
            env.start("nc", "-l", "-p", "6000");
            env.awaitPort(6000);
            assertThatThrownBy(() -> env.awaitPort(6001))
                    .isInstanceOf(AwaitTimeoutException.class)
                    .hasMessageStartingWith("Nothing listened on TCP port 6001 in IsolatedEnvironment[")
                    .hasMessageEndingWith(" within " + AWAIT_TIMEOUT + "; listening ports: [6000]");
        }

        @Test
        void file(IsolatedEnvironment env) {
            assertThatThrownBy(() -> env.awaitFile("/tmp/never"))
                    .isInstanceOf(AwaitTimeoutException.class)
                    .hasMessageStartingWith("/tmp/never did not appear in IsolatedEnvironment[")
                    .hasMessageEndingWith(" within " + AWAIT_TIMEOUT);
        }

        @Test
        void exit(IsolatedEnvironment env) {
            IsolatedProcess p = env.start("sh", "-c", "echo forever; exec sleep 1000");
            p.awaitOutput(Pattern.compile("forever"));
            assertThatThrownBy(p::awaitExit)
                    .isInstanceOf(AwaitTimeoutException.class)
                    .hasMessage("[sh, -c, echo forever; exec sleep 1000] (host pid " + p.hostPid()
                            + ") did not exit within " + AWAIT_TIMEOUT
                            + "; stdout so far: \"forever\n\"; stderr so far: "
                            + "(empty)");
        }

        @Test
        void exitedWithoutTheLine(IsolatedEnvironment env) {
            IsolatedProcess p = env.start("sh", "-c", "echo crashed; exit 3");
            assertThatThrownBy(() -> p.awaitOutput(Pattern.compile("ready")))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("exited (3)")
                    .hasMessageContaining("crashed");
        }
    }
}
