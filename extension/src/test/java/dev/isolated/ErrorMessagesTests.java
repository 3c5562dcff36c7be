package dev.isolated;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Messages of README's "What errors mean" that no other class triggers whole, compared as a user reads them. */
@DisplayName("README's error messages, whole")
class ErrorMessagesTests {

    @Test
    @DisplayName("a bind source that does not exist, however long its path: the whole hint, up to its last words")
    void missingBindSourceOfALongPath(@TempDir Path dir) {
        Path missing = dir.resolve("a-directory-name-long-enough-to-fill-a-hint-".repeat(3) + "/source");
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .bind(missing, "/data")
                        .start()
                        .close())
                .isInstanceOf(EnvironmentSetupException.class)
                .hasMessage("Isolated environment setup failed at stage 'bind': stat " + missing + ": No such file or "
                        + "directory (ENOENT)\nHint: the bind source " + missing + " (for /data) does not exist on the "
                        + "host (or it is on a file system mounted after the helper started, which a root helper does "
                        + "not see where the host's / is not a shared mount: mount it first, or run mount "
                        + "--make-rshared /)");
    }

    @Test
    @DisplayName("a Command's options that are not valid: IllegalArgumentException at once, naming the method, the"
            + " value and the fix")
    void commandOptions() {
        assertThatThrownBy(() -> Command.of())
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("A command needs a program: Command.of(\"ls\", \"-l\")");
        assertThatThrownBy(() -> Command.of("env").withEnv("A=1", "x"))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("Command.withEnv(\"A=1\", ...): not an environment variable name; give the name and the "
                        + "value apart, e.g. withEnv(\"PGDATA\", \"/data\")");
        assertThatThrownBy(() -> IsolatedEnvironment.builder().env("", "x"))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("IsolatedEnvironmentBuilder.env(\"\", ...): not an environment variable name; give the name"
                        + " and the value apart, e.g. env(\"PGDATA\", \"/data\")");
        assertThatThrownBy(() -> Command.of("sleep", "1").withTimeout(java.time.Duration.ZERO))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("Command.withTimeout(PT0S): it must be positive");
        assertThatThrownBy(() -> Command.of("yes").withMaxOutputBytes(-1))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("Command.withMaxOutputBytes(-1): it must be 0 or more");
        assertThatThrownBy(() -> Command.of("pwd").withWorkingDirectory("srv"))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("Command.withWorkingDirectory(\"srv\"): the working directory must be an absolute path "
                        + "inside the environment, e.g. \"/srv\"");
    }

    @Test
    @DisplayName("a bind or tmpfs without MOUNT, a private network without NET: start() names the namespace to add,"
            + " before anything is made")
    void settingsWithoutTheirNamespace(@TempDir Path dir) {
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .namespaces(LinuxNamespace.PID)
                        .bind(dir, "/data")
                        .start())
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "binds and tmpfs mounts need the MOUNT namespace: add LinuxNamespace.MOUNT to namespaces, or drop the mounts");
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork()) {
            assertThatThrownBy(() -> IsolatedEnvironment.builder()
                            .rootfs("busybox.tar")
                            .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT)
                            .network(net)
                            .start())
                    .isExactlyInstanceOf(IllegalArgumentException.class)
                    .hasMessage(
                            "a private network needs the NET namespace: add LinuxNamespace.NET to namespaces, or drop the network");
        }
    }

    @Test
    @DisplayName("a @Tmpfs on an @Isolated without MOUNT fails the test with the same message")
    void annotationsWithoutTheirNamespace() {
        EngineRunner.run(BindWithoutMountTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        finishedWithFailure(
                                instanceOf(IllegalArgumentException.class),
                                message("binds and tmpfs mounts need the MOUNT namespace: add LinuxNamespace.MOUNT to "
                                        + "namespaces, or drop the mounts")));
    }

    @Test
    @DisplayName("an @OnNetwork on an @Isolated without NET fails the test with the builder's message")
    void onNetworkWithoutNet() {
        EngineRunner.run(NetworkWithoutNetTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        finishedWithFailure(
                                instanceOf(IllegalArgumentException.class),
                                message("a private network needs the NET namespace: add LinuxNamespace.NET to "
                                        + "namespaces, or drop the network")));
    }

    static class NetworkWithoutNetTestCase {
        static final IsolatedNetwork net = IsolatedNetwork.newNetwork();

        @Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {LinuxNamespace.PID, LinuxNamespace.MOUNT})
        @OnNetwork("net")
        void test(IsolatedEnvironment env) {}
    }

    static class BindWithoutMountTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar", namespaces = LinuxNamespace.PID)
        @Tmpfs(target = "/cache")
        void test(IsolatedEnvironment env) {}
    }
}
