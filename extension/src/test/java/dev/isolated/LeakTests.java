package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.image.ImageConfig;
import dev.isolated.internal.env.Environment;
import dev.isolated.internal.env.EnvironmentSpec;
import dev.isolated.internal.helper.SharedHelper;
import dev.isolated.internal.image.RootfsImages;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("environments leave nothing behind")
class LeakTests {

    @Test
    @DisplayName(
            "after 1,000 environments created and closed: same host mounts, processes, JVM fds and state dir entries")
    void createAndCloseManyEnvironments() throws IOException {
        EnvironmentSpec spec = EnvironmentSpec.builder()
                .namespaces(EnumSet.of(
                        LinuxNamespace.PID,
                        LinuxNamespace.MOUNT,
                        LinuxNamespace.UTS,
                        LinuxNamespace.IPC,
                        LinuxNamespace.NET))
                .hostname("leak")
                .execTimeout(Duration.ofMinutes(1))
                .capabilities(Capabilities.ALL) // to mount inside
                .build(RootfsImages.unpacked("busybox.tar", getClass().getClassLoader()), ImageConfig.EMPTY);
        try (Environment warmUp = Environment.create(SharedHelper.get(), spec)) {
            warmUp.exec("true");
        }
        long helperPid = SharedHelper.get().pid();
        Snapshot before = Snapshot.take(helperPid);

        for (int i = 0; i < 1000; i++) {
            try (Environment env = Environment.create(SharedHelper.get(), spec)) {
                env.start("sleep", "1000");
                assertThat(env.exec("sh", "-c", "mkdir -p /mnt/t && mount -t tmpfs t /mnt/t && echo $$")
                                .exitCode())
                        .isZero();
            }
        }

        Snapshot after = Snapshot.take(helperPid);
        assertThat(after.hostMounts).isEqualTo(before.hostMounts);
        assertThat(after.helperChildren).isEqualTo(before.helperChildren).isEmpty();
        assertThat(after.jvmFds).isLessThanOrEqualTo(before.jvmFds + 2);
        assertThat(after.tmpEntries).isEqualTo(before.tmpEntries);
    }

    @Test
    @DisplayName("a JVM killed with SIGKILL while nine environments run sleep leaves no process, mount or helper")
    void jvmKilledWithSigkill() throws Exception {
        String marker = Long.toString(900000 + ProcessHandle.current().pid() % 99999);
        List<String> hostMountsBefore = Files.readAllLines(Paths.get("/proc/self/mountinfo"));
        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(
                        java.toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        LeakProbe.class.getName(),
                        marker)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String[] ready;
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line = out.readLine();
            assertThat(line).as("the child JVM's first line").startsWith("READY ");
            ready = line.split(" ");
            long sleepPid = Long.parseLong(ready[2]);
            assertThat(cmdline(sleepPid)).isEqualTo("sleep " + marker);
            assertThat(processesWithCmdline("sleep " + marker)).hasSize(9);

            Runtime.getRuntime()
                    .exec(new String[] {"kill", "-KILL", Long.toString(child.pid())})
                    .waitFor();
            child.waitFor();
        }

        Awaitility.await()
                .atMost(Duration.ofSeconds(3))
                .pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> {
                    assertThat(processesWithCmdline("sleep " + marker)).isEmpty();
                    assertThat(Paths.get("/proc", ready[1]))
                            .as("the environment's init")
                            .doesNotExist();
                    assertThat(Paths.get("/proc", ready[3]))
                            .as("the child JVM's helper")
                            .doesNotExist();
                });
        assertThat(Files.readAllLines(Paths.get("/proc/self/mountinfo"))).hasSameSizeAs(hostMountsBefore);
    }

    @Test
    @DisplayName("processes that daemonize or multiply are gone when their environment closes")
    void daemonsAndForkStormsDie() throws IOException {
        String marker = Long.toString(800000 + ProcessHandle.current().pid() % 99999);
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "setsid sh -c 'sleep " + marker + " &' & " + "for i in $(seq 100); do sleep " + marker
                                    + " & done"))
                    .succeeded();
            Awaitility.await()
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> processesWithCmdline("sleep " + marker).size() == 101);
        }
        assertThat(processesWithCmdline("sleep " + marker)).isEmpty();
    }

    private static String cmdline(long pid) throws IOException {
        return new String(Files.readAllBytes(Paths.get("/proc", Long.toString(pid), "cmdline")), StandardCharsets.UTF_8)
                .replace('\0', ' ')
                .strip();
    }

    private static List<Long> processesWithCmdline(String wanted) throws IOException {
        List<Long> found = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Paths.get("/proc"), "[0-9]*")) {
            for (Path dir : dirs) {
                try {
                    if (cmdline(Long.parseLong(dir.getFileName().toString())).equals(wanted)) {
                        found.add(Long.parseLong(dir.getFileName().toString()));
                    }
                } catch (IOException gone) {
                    // exited while listing
                }
            }
        }
        return found;
    }

    private static boolean isLockKeeper(long pid) {
        try {
            return Files.readString(Paths.get("/proc", Long.toString(pid), "comm"))
                    .strip()
                    .equals("isolated-locks");
        } catch (IOException e) {
            return false; // gone meanwhile: not a child any more
        }
    }

    private record Snapshot(int hostMounts, List<Long> helperChildren, long jvmFds, List<String> tmpEntries) {
        static Snapshot take(long helperPid) throws IOException {
            List<Long> children = new ArrayList<>();
            ProcessHandle.of(helperPid)
                    .ifPresent(h ->
                            h.children().filter(c -> !isLockKeeper(c.pid())).forEach(c -> children.add(c.pid())));
            // The helper's own child processes include the init of live environments; there should be none. As root
            // the helper also has one child for its whole life, its lock keeper (`isolated-locks`), which holds
            // the id ranges' locks and is not an environment's.
            long fds;
            try (Stream<Path> s = Files.list(Paths.get("/proc/self/fd"))) {
                fds = s.count();
            }
            // Only what this JVM's helper owns: java.io.tmpdir also holds other runs' state dirs and test dirs on a
            // shared machine, made and removed while this test runs. The helper puts nothing outside its state dir.
            List<String> tmp = new ArrayList<>();
            Path stateDir = stateDir(helperPid);
            try (Stream<Path> s = Files.walk(stateDir)) {
                s.map(p -> stateDir.relativize(p).toString()).sorted().forEach(tmp::add);
            }
            return new Snapshot(
                    Files.readAllLines(Paths.get("/proc/self/mountinfo")).size(), children, fds, tmp);
        }

        /** @return the helper's {@code --state-dir} */
        private static Path stateDir(long helperPid) throws IOException {
            String[] argv = cmdline(helperPid).split(" ");
            for (int i = 0; i + 1 < argv.length; i++) {
                if (argv[i].equals("--state-dir")) {
                    return Paths.get(argv[i + 1]);
                }
            }
            throw new AssertionError("no --state-dir in " + String.join(" ", argv));
        }
    }
}
