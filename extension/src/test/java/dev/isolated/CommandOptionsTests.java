package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Command options")
@Isolated(rootfs = "busybox.tar")
class CommandOptionsTests {

    @Test
    @DisplayName("stdin from a string reaches the command, then EOF")
    void stdinString(IsolatedEnvironment env) {
        assertThat(env.exec(Command.of("sh", "-c", "cat; echo '<eof>'").withStdin("hello\nworld\n")))
                .succeeded()
                .stdout()
                .isEqualTo("hello\nworld\n<eof>\n");
    }

    @Test
    @DisplayName("stdin from a host file, larger than a pipe buffer, arrives whole")
    void stdinFile(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        Path input = dir.resolve("input");
        Files.write(input, new byte[3 * 1024 * 1024 + 7]);

        assertThat(env.exec(Command.of("wc", "-c").withStdin(input))).stdout().isEqualTo((3 * 1024 * 1024 + 7) + "\n");
    }

    @Test
    @DisplayName("without stdin a command reads EOF at once")
    void noStdin(IsolatedEnvironment env) {
        assertThat(env.exec("cat")).succeeded().stdout().isEmpty();
    }

    @Test
    @DisplayName("environment variables: the defaults, then the command's")
    void environmentVariables(IsolatedEnvironment env) {
        ExecResult r =
                env.exec(Command.of("env").withEnv("GREETING", "hi there").withEnv("HOME", "/root"));

        assertThat(r.stdoutLines())
                .contains(
                        "GREETING=hi there",
                        "HOME=/root",
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        assertThat(r.stdoutLines()).noneMatch(l -> l.startsWith("JAVA_HOME=") || l.startsWith("USER="));
    }

    @Test
    @DisplayName("the working directory is / unless the command names one")
    void workingDirectory(IsolatedEnvironment env) {
        assertThat(env.exec("pwd")).stdout().isEqualTo("/\n");
        assertThat(env.exec(Command.of("pwd").withWorkingDirectory("/etc")))
                .stdout()
                .isEqualTo("/etc\n");
        assertThat(env.exec(Command.of("pwd").withWorkingDirectory("/no/such/dir")))
                .failed();
    }

    @Test
    @DisplayName("a command's own timeout stops it and says so")
    void perCommandTimeout(IsolatedEnvironment env) {
        ExecResult r = env.exec(Command.of("sleep", "100").withTimeout(Duration.ofMillis(300)));

        assertThat(r).timedOut().exitedWith(143);
        assertThat(r.duration()).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    @DisplayName("a timed-out command killed by the SIGTERM: signal 15, and its description says so")
    void timeoutKilledBySigterm(IsolatedEnvironment env) {
        ExecResult r = env.exec(Command.of("sleep", "100").withTimeout(Duration.ofMillis(300)));

        assertThat(r.signal()).hasValue(15);
        assertThat(r.toString())
                .matches(
                        "command \\[sleep, 100\\] timed out after \\d+ ms and was killed by signal 15 \\(exit code 143\\)"
                                + "\n  stdout: \\(empty\\)\n  stderr: \\(empty\\)");
    }

    @Test
    @DisplayName("a timeout stops what the command started in its process group too, as GNU timeout does")
    void timeoutStopsTheProcessGroup(IsolatedEnvironment env) {
        ExecResult r = env.exec(
                Command.of("sh", "-c", "sleep 101 & sleep 102; echo never").withTimeout(Duration.ofMillis(300)));

        assertThat(r).timedOut().exitedWith(143);
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(2))
                .untilAsserted(() ->
                        assertThat(env.exec("ps", "-o", "args").stdout()).doesNotContain("sleep 101", "sleep 102"));
    }

    @Test
    @DisplayName("a command that exits 0 by itself on its timeout's SIGTERM timed out and did not succeed; "
            + "its description says how it ended, not that it was killed")
    void timeoutExitOnSigterm(IsolatedEnvironment env) {
        ExecResult r =
                env.exec(Command.of("sh", "-c", "trap 'echo stopping; exit 0' TERM; echo started; sleep 100 & wait")
                        .withTimeout(Duration.ofMillis(300)));

        assertThat(r.timedOut()).isTrue();
        assertThat(r.exitCode()).isZero();
        assertThat(r.signal()).isEmpty();
        assertThat(r.succeeded()).isFalse();
        assertThat(r.stdout()).isEqualTo("started\nstopping\n");
        assertThat(r.toString())
                .matches("(?s)command \\[sh, -c, .*\\] timed out after \\d+ ms and exited with code 0 on SIGTERM\n.*")
                .doesNotContain("killed");
        assertThatThrownBy(() -> assertThat(r).succeeded())
                .hasMessageStartingWith("Expected the command to succeed (exit code 0) but command [sh, -c, ");
    }

    @Test
    @DisplayName("output lines are streamed to a consumer as they come, and captured in full")
    void outputLines(IsolatedEnvironment env) {
        List<String> lines = new CopyOnWriteArrayList<>();

        ExecResult r = env.exec(
                Command.of("sh", "-c", "echo one; echo two >&2; printf three").withOutputLines(lines::add));

        assertThat(lines).containsExactlyInAnyOrder("one", "two", "three");
        assertThat(r.stdout()).isEqualTo("one\nthree");
        assertThat(r.stderr()).isEqualTo("two\n");
    }

    @Test
    @DisplayName("a background process can be given stdin and reports its exit through onExit")
    void startWithStdin(IsolatedEnvironment env) throws Exception {
        IsolatedProcess p =
                env.start(Command.of("sh", "-c", "read line; echo got:$line").withStdin("ping\n"));

        ExecResult r = p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(r).succeeded().stdout().isEqualTo("got:ping\n");
    }

    @Test
    @DisplayName("an open stdin: the test talks to a running shell line by line, and closing it is EOF")
    void openStdinConversation(IsolatedEnvironment env) throws Exception {
        IsolatedProcess shell =
                env.start(Command.of("sh", "-c", "while read line; do echo \"got:$line\"; done; echo '<eof>'")
                        .withOpenStdin());

        shell.stdin().write("ping\n".getBytes(StandardCharsets.UTF_8));
        shell.awaitOutput(Pattern.compile("^got:ping$"));
        assertThat(shell.isAlive()).as("still reading after the first line").isTrue();
        shell.stdin().write("pong\n".getBytes(StandardCharsets.UTF_8));
        shell.awaitOutput(Pattern.compile("^got:pong$"));
        shell.stdin().close();

        assertThat(shell.awaitExit()).succeeded().stdout().isEqualTo("got:ping\ngot:pong\n<eof>\n");
    }

    @Test
    @DisplayName("an open stdin carries more than a pipe buffer, in pieces, whole")
    void openStdinLarge(IsolatedEnvironment env) throws Exception {
        IsolatedProcess wc = env.start(Command.of("wc", "-c").withOpenStdin());
        byte[] block = new byte[1024 * 1024 + 3];
        for (int i = 0; i < 3; i++) {
            wc.stdin().write(block);
        }
        wc.stdin().close();

        assertThat(wc.awaitExit()).succeeded().stdout().isEqualTo(3 * block.length + "\n");
    }

    @Test
    @DisplayName(
            "writing to the stdin of a command that exited fails like a broken pipe; without withOpenStdin there is none")
    void openStdinErrors(IsolatedEnvironment env) {
        IsolatedProcess done = env.start(Command.of("true").withOpenStdin());
        done.awaitExit();

        assertThatThrownBy(() -> done.stdin().write('x'))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("has exited");
        assertThatThrownBy(() -> env.start("sleep", "5").stdin())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("withOpenStdin()");
        assertThatThrownBy(() -> env.exec(Command.of("cat").withOpenStdin()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("use start(command)");
    }
}
