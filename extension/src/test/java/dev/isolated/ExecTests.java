package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedSuccessfully;
import static org.junit.platform.testkit.engine.EventConditions.test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("exec and start")
@Isolated(rootfs = "busybox.tar")
class ExecTests {

    @Test
    @DisplayName("pass the command's exit code, stdout and stderr through")
    void exitCodeAndOutput(IsolatedEnvironment env) {
        ExecResult r = env.exec("sh", "-c", "echo out; echo err >&2; exit 3");

        assertThat(r).exitedWith(3);
        assertThat(r.stdout()).isEqualTo("out\n");
        assertThat(r.stderr()).isEqualTo("err\n");
        assertThat(r.signal()).isEmpty();
    }

    @Test
    @DisplayName("report a command killed by a signal as 128 + the signal")
    void killedBySignal(IsolatedEnvironment env) {
        ExecResult r = env.exec("sh", "-c", "kill -TERM $$");

        assertThat(r).exitedWith(143);
        assertThat(r.signal()).hasValue(15);
    }

    @Test
    @DisplayName("report a missing command as exit code 127 with the reason on stderr")
    void missingCommand(IsolatedEnvironment env) {
        ExecResult r = env.exec("no-such-command", "x");

        assertThat(r).exitedWith(127);
        assertThat(r.stderr())
                .isEqualTo("isolated: no-such-command: command not found in the environment "
                        + "(execve no-such-command: No such file or directory)\n");
    }

    @Test
    @DisplayName("report a command killed before its exec (kill -9 -1 run by another) as 137 with the reason on stderr")
    void killedBeforeExec(IsolatedEnvironment env) {
        IsolatedProcess killer = env.start(Command.of("sh", "-c", "while :; do kill -9 -1; done"));
        ExecResult early = null;
        // Each start is killed before or after its exec, or not at all: until one is killed before it (of the
        // first ten or so, as root and rootless), every result must be one of those three, never an exception.
        for (int i = 0; i < 2000 && early == null; i++) {
            ExecResult r = env.exec("true");
            assertThat(r.exitCode()).as(r.toString()).isIn(0, 137);
            if (!r.stderr().isEmpty()) {
                early = r;
            }
        }
        killer.kill();

        assertThat(early).as("a command killed before its exec among 2000").isNotNull();
        assertThat(early).exitedWith(137);
        assertThat(early.signal()).hasValue(9);
        assertThat(early.stderr())
                .isEqualTo("isolated: true: killed by signal 9 (SIGKILL) before it could exec (something, such as"
                        + " kill -1 run in the environment or the OOM killer, killed the command's process)\n");
    }

    @Test
    @DisplayName("report a missing working directory as exit code 125, not as a missing program")
    void missingWorkingDirectory(IsolatedEnvironment env) {
        ExecResult r = env.exec(Command.of("true").withWorkingDirectory("/does/not/exist"));

        assertThat(r).exitedWith(125);
        assertThat(r.stderr())
                .isEqualTo("isolated: working directory /does/not/exist does not exist in the environment\n");
        assertThat(env.exec(Command.of("no-such-command").withWorkingDirectory("/tmp")))
                .exitedWith(127);
    }

    @Test
    @DisplayName("report a file as working directory as exit code 125: not a directory")
    void fileAsWorkingDirectory(IsolatedEnvironment env) {
        ExecResult r = env.exec(Command.of("true").withWorkingDirectory("/etc/passwd"));

        assertThat(r).exitedWith(125);
        assertThat(r.stderr()).isEqualTo("isolated: working directory /etc/passwd is not a directory\n");
    }

    @Test
    @DisplayName("run every command as a session of its own, without a controlling terminal")
    void ownSessionWithoutTerminal(IsolatedEnvironment env) {
        ExecResult r = env.exec(
                "sh",
                "-c",
                "read -r stat < /proc/$$/stat; set -- $stat; echo \"pid=$1 session=$6 tty_nr=$7\"; (exec 3</dev/tty) 2>/dev/null && echo tty-opened || echo no-tty");

        assertThat(r).succeeded();
        String pid = r.stdout().replaceAll("(?s)pid=(\\d+) .*", "$1");
        assertThat(r.stdout()).isEqualTo("pid=" + pid + " session=" + pid + " tty_nr=0\nno-tty\n");
        ExecResult asPid1 = env.execAsPid1(
                "sh",
                "-c",
                "read -r stat < /proc/$$/stat; set -- $stat; echo \"pid=$1 session=$6 tty_nr=$7\"; (exec 3</dev/tty) 2>/dev/null && echo tty-opened || echo no-tty");
        assertThat(asPid1.stdout()).isEqualTo("pid=1 session=1 tty_nr=0\nno-tty\n");
    }

    @Test
    @DisplayName("report a file that cannot be executed as exit code 126")
    void notExecutable(IsolatedEnvironment env) {
        assertThat(env.exec("sh", "-c", "echo data > /tmp/data")).succeeded();

        ExecResult r = env.exec("/tmp/data");

        assertThat(r).exitedWith(126);
        assertThat(r.stderr()).startsWith("isolated: /tmp/data: cannot execute (execve /tmp/data: ");
    }

    @Test
    @DisplayName("a program whose interpreter is missing (a #! line's program, a dynamic ELF's loader) gives 127, "
            + "not 126: the kernel's ENOENT, as for a missing program")
    void missingInterpreter(IsolatedEnvironment env) throws Exception {
        env.writeString("/tmp/script", "#!/no/such/shell\necho never\n");
        assertThat(env.exec("chmod", "755", "/tmp/script")).succeeded();

        ExecResult script = env.exec("/tmp/script");

        assertThat(script).exitedWith(127);
        assertThat(script.stderr())
                .isEqualTo("isolated: /tmp/script: command not found in the environment "
                        + "(execve /tmp/script: No such file or directory)\n");
        Path hostProgram = Path.of("/bin/true").toRealPath();
        assertThat(Files.readString(hostProgram, StandardCharsets.ISO_8859_1))
                .as("the host's %s is dynamically linked (names its loader)", hostProgram)
                .contains("/ld-linux");
        env.copyIn(hostProgram, "/tmp/dynamic");
        ExecResult dynamic = env.exec("/tmp/dynamic");
        assertThat(dynamic).exitedWith(127);
        assertThat(dynamic.stderr())
                .isEqualTo("isolated: /tmp/dynamic: command not found in the environment "
                        + "(execve /tmp/dynamic: No such file or directory)\n");
    }

    @Test
    @DisplayName("capture large output completely")
    void largeOutput(IsolatedEnvironment env) {
        ExecResult r = env.exec("sh", "-c", "yes 0123456789abcdef | head -c 3000000");

        assertThat(r).succeeded();
        assertThat(r.stdout()).hasSize(3_000_000).startsWith("0123456789abcdef\n");
    }

    @Test
    @DisplayName("run many commands in a row in one environment")
    void manyCommands(IsolatedEnvironment env) {
        for (int i = 0; i < 200; i++) {
            assertThat(env.exec("echo", Integer.toString(i))).stdout().isEqualTo(i + "\n");
        }
    }

    @Test
    @DisplayName("start a background process with pids inside and on the host, and kill it")
    void backgroundProcess(IsolatedEnvironment env) {
        IsolatedProcess p = env.start("sh", "-c", "echo started; exec sleep 1000");
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> p.stdout().contains("started"));

        assertThat(p.isAlive()).isTrue();
        assertThat(p.pid()).isGreaterThan(1);
        assertThat(java.nio.file.Paths.get("/proc", Long.toString(p.hostPid()), "comm"))
                .content()
                .isEqualTo("sleep\n");
        ExecResult r = p.kill();
        assertThat(r).exitedWith(137);
        assertThat(r.stdout()).isEqualTo("started\n");
        assertThat(p.isAlive()).isFalse();
    }

    @Test
    @DisplayName(
            "enter() of a namespace the environment lacks names it, what the environment has and both ways to add it")
    void enterMissingNamespace() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT)
                .start()) {
            assertThatThrownBy(() -> env.enter(LinuxNamespace.MOUNT, LinuxNamespace.NET))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Cannot enter namespace NET: this environment has only [PID, MOUNT, USER]. Add it to "
                            + "@Isolated(namespaces = ...) or builder().namespaces(...) to create it.");
        }
    }

    @Test
    @DisplayName("kill() of a process that already exited returns its own result, not 137")
    void killAfterExit(IsolatedEnvironment env) {
        IsolatedProcess p = env.start("sh", "-c", "echo done; exit 3");
        assertThat(p.awaitExit()).exitedWith(3);

        ExecResult r = p.kill();

        assertThat(r).exitedWith(3);
        assertThat(r.signal()).isEmpty();
        assertThat(r.stdout()).isEqualTo("done\n");
    }

    @Test
    @DisplayName("waitFor says what the process printed so far when it times out")
    void waitForTimeout(IsolatedEnvironment env) {
        IsolatedProcess p = env.start("sh", "-c", "echo still-going; exec sleep 1000");
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> p.stdout().contains("still"));

        assertThatThrownBy(() -> p.waitFor(Duration.ofMillis(200)))
                .isInstanceOf(CompletionException.class)
                .cause()
                .isInstanceOf(TimeoutException.class)
                .hasMessageContaining("still-going")
                .hasMessageContaining("200 ms");
    }

    @Test
    @DisplayName("stop a command that runs past isolated.exec.timeout, even one that ignores SIGTERM")
    void execTimeout() {
        var results = EngineRunner.run(TimeoutTestCase.class, Map.of("isolated.exec.timeout", "500ms"));

        results.testEvents().assertThatEvents().haveExactly(1, event(test("test"), finishedSuccessfully()));
    }

    @Isolated(rootfs = "busybox.tar")
    static class TimeoutTestCase {
        @Test
        void test(IsolatedEnvironment env) {
            ExecResult r = env.exec("sh", "-c", "trap '' TERM; echo waiting; sleep 1000");

            assertThat(r).timedOut().exitedWith(137);
            assertThat(r.stdout()).isEqualTo("waiting\n");
            assertThat(r.duration()).isLessThan(Duration.ofSeconds(10));
        }
    }

    @Test
    @DisplayName(
            "commands start with no signal ignored or blocked (the helper ignores SIGPIPE itself), so `yes | head` ends")
    void cleanSignalState(IsolatedEnvironment env) throws Exception {
        assertThat(env.exec("grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status"))
                .succeeded()
                .stdout()
                .isEqualTo("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
        assertThat(env.exec("sh", "-c", "yes | head -n 2; echo \"${PIPESTATUS:-done}\""))
                .succeeded()
                .stdout()
                .startsWith("y\ny\n");
        Process viaBuilder = env.processBuilder("grep", "-E", "^SigIgn:", "/proc/self/status")
                .start();
        assertThat(new String(viaBuilder.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
                .as("processBuilder, started from this JVM, which ignores signals 32 and 33")
                .isEqualTo("SigIgn:\t0000000000000000\n");
    }
}
