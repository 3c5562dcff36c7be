package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.USER;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("rootless: a non-root user gets the same environments through a user namespace")
class RootlessTests {

    @Test
    @DisplayName(
            "tests run by uid 65534 get root inside, their own PID 1, hostname, writable rootfs and a protected /proc")
    void asNobody(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = NobodyJvm.runFixture(dir, RootlessTestCase.class);

        assertThat(lines).hasSize(5).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    @Test
    @DisplayName(
            "a limit the user's cgroups cannot apply (v1 is never delegated) fails the test with the reason; skipIfUnsupported aborts it")
    void limitsWithoutDelegation(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> failed = NobodyJvm.runFixture(NobodyJvm.runDirectory(dir, "a"), LimitsTestCase.class, List.of());
        List<String> skipped = NobodyJvm.runFixture(
                NobodyJvm.runDirectory(dir, "b"), LimitsTestCase.class, List.of(), "isolated.skipIfUnsupported=true");

        assertThat(failed)
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith("FAILED\t")
                        .contains(
                                "stage 'cgroup'",
                                "EACCES",
                                "Delegate=yes",
                                "run as root",
                                "isolated.skipIfUnsupported=true"));
        assertThat(skipped)
                .singleElement()
                .satisfies(line -> assertThat(line).startsWith("ABORTED\t").contains("stage 'cgroup'"));
    }

    @Test
    @DisplayName(
            "as uid 65534, readString refuses a FIFO at once, copyOut copies through descriptors and never replaces a host file, keepOnFailure keeps symlinks as symlinks and marks what it cannot read")
    void filesAsNobody(@TempDir Path dir) throws IOException, InterruptedException {
        Path kept = dir.resolve("home/kept");
        List<String> lines = NobodyJvm.runFixture(
                dir,
                RootlessFilesTestCase.class,
                List.of(),
                "isolated.keepOnFailure=true",
                "isolated.keepOnFailure.dir=" + kept);

        assertThat(lines)
                .hasSize(2)
                .anySatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"))
                .anySatisfy(line -> assertThat(line).startsWith("FAILED"));
        Path layer;
        try (var layers = Files.list(kept)) {
            layer = layers.filter(p -> p.getFileName().toString().startsWith("RootlessFilesTestCase.fails"))
                    .findFirst()
                    .orElseThrow();
        }
        assertThat(Files.readSymbolicLink(layer.resolve("etc/shadow-link"))).isEqualTo(Path.of("/etc/shadow"));
        assertThat(layer.resolve("etc/pipe.skipped")).content().isEqualTo("a FIFO, not opened\n");
        assertThat(layer.resolve("etc/kept")).content().isEqualTo("k\n");
        assertThat(layer.resolve("etc/unreadable.skipped"))
                .content()
                .startsWith("not readable: ")
                .contains("Permission denied");
    }

    static class RootlessFilesTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar")
        void files(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "mkfifo /tmp/pipe && mkdir -p /t/s && echo a > /t/s/a && chmod 600 /t/s/a"
                                    + " && ln -s /etc/shadow /t/l"))
                    .succeeded();
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                    java.time.Duration.ofSeconds(5),
                    () -> org.assertj.core.api.Assertions.assertThatThrownBy(() -> env.readString("/tmp/pipe"))
                            .hasMessageContaining("is a FIFO, not a regular file"));
            assertThat(env.readString("/t/s/a")).isEqualTo("a\n");
            env.copyOut("/t", dir.resolve("t"));
            assertThat(dir.resolve("t/s/a")).content().isEqualTo("a\n");
            assertThat(Files.readSymbolicLink(dir.resolve("t/l"))).isEqualTo(Path.of("/etc/shadow"));
            Path existing = Files.writeString(dir.resolve("existing"), "mine");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> env.copyOut("/t/s/a", existing))
                    .hasMessageContaining("it already exists on the host");
            assertThat(existing).content().isEqualTo("mine");
        }

        @Test
        @Isolated(rootfs = "busybox.tar")
        void fails(IsolatedEnvironment env) {
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "ln -s /etc/shadow /etc/shadow-link && mkfifo /etc/pipe && echo k > /etc/kept"
                                    + " && echo s > /etc/unreadable && chmod 000 /etc/unreadable"))
                    .succeeded();
            assertThat(env.exec("false")).succeeded();
        }
    }

    static class LimitsTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar")
        @Limits(memoryBytes = 64 << 20)
        void limited(IsolatedEnvironment env) {
            env.exec("true");
        }
    }

    static class RootlessTestCase {
        @Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {PID, MOUNT, UTS},
                hostname = "rootless",
                capabilities = Capabilities.ALL)
        void userNamespaceIsAdded(IsolatedEnvironment env) {
            assertThat(env.namespaces()).contains(USER);
            assertThat(env.exec("id", "-u")).stdout().isEqualTo("0\n");
            assertThat(env).pid1().hasCommand("isolated-init");
            assertThat(env).hostname().isEqualTo("rootless");
            env.setHostname("renamed");
            assertThat(env.exec("hostname")).stdout().isEqualTo("renamed\n");
            assertThat(env.exec("sh", "-c", "echo x > /etc/written && mount -t tmpfs t /tmp && cat /etc/written"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("x\n");
            assertThat(env.readString("/etc/written")).isEqualTo("x\n");
        }

        @Test
        @Isolated(
                rootfs = "hello.tar",
                namespaces = {PID, MOUNT})
        void fromScratch(IsolatedEnvironment env) {
            assertThat(env.exec("/hello")).succeeded().stdout().isEqualTo("Hello, World\n");
        }

        @Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {PID, MOUNT, UTS, LinuxNamespace.IPC, LinuxNamespace.NET, LinuxNamespace.CGROUP})
        @ClockOffsets(boottimeSeconds = 86400)
        void everyOtherNamespace(IsolatedEnvironment env) throws Exception {
            assertThat(env.namespaces()).contains(USER, LinuxNamespace.TIME);
            assertThat(env.exec("ip", "-o", "link").stdout())
                    .as("NET: lo only, up")
                    .startsWith("1: lo:")
                    .contains("UP")
                    .doesNotContain("2:");
            env.start(Command.of("nc", "-l", "-p", "80").withOpenStdin());
            env.awaitPort(80);
            String hostIpc = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/ipc"))
                    .toString();
            assertThat(env.exec("readlink", "/proc/self/ns/ipc").stdout())
                    .as("IPC: a namespace of its own")
                    .startsWith("ipc:[")
                    .isNotEqualTo(hostIpc + "\n");
            assertThat(env.exec("cat", "/proc/self/cgroup").stdoutLines())
                    .as("CGROUP: / is its own cgroup")
                    .isNotEmpty()
                    .allSatisfy(line -> assertThat(line).endsWith(":/"));
            double host = Double.parseDouble(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/uptime"))
                    .split(" ")[0]);
            double inside =
                    Double.parseDouble(env.exec("cat", "/proc/uptime").stdout().split(" ")[0]);
            assertThat(inside - host).as("TIME: boottime a day ahead").isBetween(86400.0 - 5, 86400.0 + 5);
        }

        @Test
        @Isolated(rootfs = "busybox.tar")
        @Limits(openFiles = 99)
        void rlimitsNeedNoDelegatedCgroup(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "ulimit -n")).stdout().isEqualTo("99\n");
        }

        @Test
        @Isolated(rootfs = "busybox.tar")
        void protectedProcAndANestedOne(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "cat /proc/sys/vm/swappiness > /proc/sys/vm/swappiness"))
                    .failed();
            assertThat(env.execAsPid1("ps", "-o", "pid,comm"))
                    .succeeded()
                    .stdout()
                    .contains("    1 ps");
        }
    }
}
