package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.internal.helper.SharedHelper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Issue 11: if the helper dies anyway, the JVM reports why and the next environment works. */
@DisplayName("when the helper dies")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@org.junit.jupiter.api.parallel.Isolated("kills this JVM's shared helper")
class HelperDeathTests {

    @Test
    @DisplayName("every call in flight fails naming the death, nothing of its environments survives, the next works")
    void killedHelper() throws Exception {
        IsolatedEnvironment first =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start();
        IsolatedEnvironment second = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(LinuxNamespace.PID, LinuxNamespace.UTS)
                .start(); // no MOUNT: its tree is in the state dir
        long helperPid = SharedHelper.get().pid();
        Path stateDir = stateDirOf(helperPid);
        assertThat(stateDir).isDirectory();
        IsolatedProcess sleeper = second.start("sleep", "1000");
        CompletableFuture<ExecResult> inFlight = CompletableFuture.supplyAsync(() -> first.exec("sleep", "1000"));
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() ->
                        first.processes().stream().anyMatch(p -> p.command().equals("sleep")));
        List<Long> doomed = List.of(first.initHostPid(), second.initHostPid(), sleeper.hostPid());
        // Waits for the killed helper's lock and holds it: a helper of another Isolated run on this machine (same
        // java.io.tmpdir) would otherwise sweep the state dir before this JVM's next helper does.
        Process lockWaiter = new ProcessBuilder(
                        "flock",
                        stateDir.resolve("isolated-helper.lock").toString(),
                        "sh",
                        "-c",
                        "echo locked; exec cat")
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();

        ProcessHandle.of(helperPid).orElseThrow().destroyForcibly(); // SIGKILL

        String died = "The isolated helper (pid " + helperPid + ") died: killed by signal 9";
        assertThatThrownBy(() -> inFlight.get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(IsolatedException.class)
                .hasMessageStartingWith(died)
                .hasMessageContaining("every environment it ran is gone (the next environment starts a new helper)");
        assertThat(sleeper.onExit()).failsWithin(Duration.ofSeconds(10));
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> doomed.stream()
                        .noneMatch(pid -> ProcessHandle.of(pid)
                                .map(ProcessHandle::isAlive)
                                .orElse(false)));
        assertThatThrownBy(() -> second.exec("echo"))
                .isInstanceOf(IsolatedException.class)
                .hasMessageStartingWith("This isolated environment is closed: " + died);
        first.close();
        second.close();
        assertThat(new String(lockWaiter.getInputStream().readNBytes(7), StandardCharsets.UTF_8))
                .isEqualTo("locked\n");
        assertThat(stateDir)
                .as("the killed helper's state dir, until the next helper starts")
                .isDirectory();
        lockWaiter.getOutputStream().close(); // the lock goes: the next helper may sweep it
        assertThat(lockWaiter.waitFor(10, TimeUnit.SECONDS)).isTrue();

        try (IsolatedEnvironment next =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(next.exec("echo", "fresh")).stdout().isEqualTo("fresh\n");
            assertThat(SharedHelper.get().pid()).isNotEqualTo(helperPid);
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !Files.exists(stateDir));
        }
    }

    @Test
    @DisplayName(
            "the next helper kills a daemon that left every namespace of a dead helper's environment, and its cgroup")
    void nextHelperKillsWhatADeadOneLeft() throws Exception {
        IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(LinuxNamespace.MOUNT, LinuxNamespace.UTS, LinuxNamespace.IPC, LinuxNamespace.NET)
                .capabilities(Capabilities.ALL)
                .start();
        String seconds = HostSleepers.ownSeconds(12);
        DaemonCgroupTests.startEscapingDaemon(env, seconds);
        long helperPid = SharedHelper.get().pid();
        List<Path> cgroups = envCgroups(helperPid);
        assertThat(cgroups).as("the environment's cgroup").isNotEmpty();
        // Waits for the killed helper's identity lock and holds it: a helper of any other Isolated run on this
        // machine (they share /run/isolated/helpers) would otherwise sweep its cgroup, and kill the daemon, before
        // this JVM's next helper does.
        String cgroup = cgroups.get(0).getFileName().toString(); // isolated-<pid>-<token>-<id>
        Path identityLock = Path.of(
                "/run/isolated/helpers",
                cgroup.substring("isolated-".length(), cgroup.lastIndexOf('-')) + ".helper-lock");
        assertThat(identityLock).exists();
        Process lockWaiter = new ProcessBuilder("flock", identityLock.toString(), "sh", "-c", "echo locked; exec cat")
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();

        try {
            ProcessHandle.of(helperPid).orElseThrow().destroyForcibly(); // SIGKILL
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> !ProcessHandle.of(helperPid)
                            .map(ProcessHandle::isAlive)
                            .orElse(false));
            assertThat(new String(lockWaiter.getInputStream().readNBytes(7), StandardCharsets.UTF_8))
                    .isEqualTo("locked\n");
            env.close();
            Awaitility.await()
                    .during(Duration.ofMillis(200))
                    .atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(HostSleepers.of(seconds))
                            .as("nothing but a helper kills it")
                            .hasSize(1));
        } finally {
            lockWaiter.getOutputStream().close(); // the lock goes: the next helper may sweep
            if (!lockWaiter.waitFor(10, TimeUnit.SECONDS)) {
                lockWaiter.destroyForcibly(); // still waiting for the lock: the helper did not die
            }
        }

        try (IsolatedEnvironment next =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(next.exec("echo", "fresh")).stdout().isEqualTo("fresh\n");
            Awaitility.await()
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> HostSleepers.of(seconds).isEmpty());
            assertThat(cgroups).allSatisfy(dir -> assertThat(dir).doesNotExist());
        }
    }

    @Test
    @DisplayName("a writer blocked on a command's unread stdin and a writeString in flight end, failing, when it dies")
    void blockedWritersEnd() throws Exception {
        IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start();
        IsolatedProcess deaf = env.start(Command.of("sleep", "1000").withOpenStdin());
        CompletableFuture<Void> stdinWriter = CompletableFuture.runAsync(() -> {
            try {
                byte[] block = new byte[1 << 20];
                for (int i = 0; i < 64; i++) {
                    deaf.stdin().write(block);
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        String big = "x".repeat(256 << 20);
        CompletableFuture<Void> fileWriter = CompletableFuture.runAsync(() -> {
            for (; ; ) {
                env.writeString("/big", big);
            }
        });
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> !stdinWriter.isDone()
                        && Thread.getAllStackTraces().keySet().stream()
                                .anyMatch(t -> t.getState() == Thread.State.WAITING
                                        && java.util.Arrays.stream(t.getStackTrace())
                                                .anyMatch(f -> f.getMethodName().equals("awaitRoom"))));

        ProcessHandle.of(SharedHelper.get().pid()).orElseThrow().destroyForcibly(); // SIGKILL

        assertThat(stdinWriter).failsWithin(Duration.ofSeconds(10));
        assertThat(fileWriter)
                .failsWithin(Duration.ofSeconds(10))
                .withThrowableOfType(ExecutionException.class)
                .havingCause()
                .isInstanceOf(IsolatedException.class)
                .withMessageContaining("The isolated helper (pid ")
                .withMessageContaining(" died");
        env.close();
    }

    /** @return the cgroup directories {@code isolated-<helperPid>-<env>} of a helper, in every hierarchy */
    private static List<Path> envCgroups(long helperPid) throws Exception {
        try (java.util.stream.Stream<Path> dirs = Files.find(
                Path.of("/sys/fs/cgroup"),
                8,
                (p, a) -> a.isDirectory()
                        && p.getFileName() != null
                        && p.getFileName().toString().startsWith("isolated-" + helperPid + "-"))) {
            return dirs.toList();
        }
    }

    private static Path stateDirOf(long pid) throws Exception {
        String[] argv = Files.readString(Path.of("/proc/" + pid + "/cmdline"), StandardCharsets.UTF_8)
                .split("\0");
        for (int i = 0; i + 1 < argv.length; i++) {
            if (argv[i].equals("--state-dir")) {
                return Path.of(argv[i + 1]);
            }
        }
        throw new AssertionError("no --state-dir in " + String.join(" ", argv));
    }
}
