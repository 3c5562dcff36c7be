package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Commands that misbehave towards their caller: children that keep the output pipes open and flood them after the
 * command exited, output consumers that throw, stdin the command reads late or never, lines without end, bytes
 * that are not UTF-8. Each checks what the test gets and that the environment, and every other one of the JVM,
 * still works afterwards.
 */
@DisplayName("hostile or buggy commands")
@Isolated(rootfs = "busybox.tar")
class HostileCommandTests {

    private static void stillWorks(IsolatedEnvironment env) {
        assertThat(env.exec("echo", "alive").stdout())
                .as("the environment and its helper still work")
                .isEqualTo("alive\n");
    }

    @Test
    @DisplayName("exec returns at the command's exit although a child keeps its stdout open; the child runs on")
    void childKeepsStdoutOpen(IsolatedEnvironment env) {
        ExecResult r = env.exec(Command.of("sh", "-c", "sleep 1001 & echo hi").withTimeout(Duration.ofSeconds(30)));

        assertThat(r).succeeded();
        assertThat(r.stdout()).isEqualTo("hi\n");
        assertThat(env.exec("ps", "-o", "args").stdout()).contains("sleep 1001");
    }

    @Test
    @DisplayName("a child flooding the stdout its exited parent left open, while a slow output consumer holds up "
            + "the reading, neither holds up exec nor the helper; its output after the exit is not read, so it dies of "
            + "SIGPIPE")
    void childFloodsAfterExit(IsolatedEnvironment env) {
        String word = "f".repeat(100);
        AtomicLong lines = new AtomicLong();
        // Before the fix the helper read on at the exit until the pipe was empty, which a child writing faster than
        // the JVM takes it seldom lets happen: exec ran into its timeout, and the helper stayed stuck for every env.
        ExecResult r = env.exec(Command.of("sh", "-c", "yes " + word + " & sleep 0.2; echo done >&2")
                .withTimeout(Duration.ofSeconds(30))
                .withOutputLines(line -> {
                    lines.incrementAndGet();
                    LockSupport.parkNanos(50_000);
                }));

        assertThat(r.timedOut()).as(r.toString()).isFalse();
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).startsWith(word + "\n");
        assertThat(r.stderr()).isEqualTo("done\n");
        assertThat(lines.get()).isPositive();
        stillWorks(env);
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .untilAsserted(
                        () -> assertThat(env.exec("ps", "-o", "args").stdout()).doesNotContain("yes " + word));
    }

    @Test
    @DisplayName("256 MiB of stdin that the command reads only after a pause arrive whole, in about the time they take "
            + "to copy")
    void stdinReadLate(IsolatedEnvironment env) {
        byte[] data = new byte[256 << 20];

        // The helper keeps what the command has not read yet; it moved the rest to the front after each write to the
        // pipe (64 KiB), 4,096 times here: about a minute, quadratic in the size.
        ExecResult r = env.exec(
                Command.of("sh", "-c", "sleep 1; wc -c").withStdin(data).withTimeout(Duration.ofSeconds(20)));

        assertThat(r.timedOut()).as(r.toString()).isFalse();
        assertThat(r.stdout().trim()).isEqualTo(Integer.toString(256 << 20));
        stillWorks(env);
    }

    @Test
    @DisplayName("64 MiB of stdin for a command that never reads it, or exits at once, does not hold anything up")
    void stdinNeverRead(IsolatedEnvironment env) {
        byte[] data = new byte[64 << 20];

        assertThat(env.exec(Command.of("true").withStdin(data))).succeeded();
        assertThat(env.exec(Command.of("sh", "-c", "exec <&-; sleep 0.5; echo closed")
                        .withStdin(data)))
                .succeeded()
                .stdout()
                .isEqualTo("closed\n");
        stillWorks(env);
    }

    @Test
    @DisplayName("an open stdin never closed: the command waits for input until it is killed, and the environment "
            + "closes all the same")
    void openStdinNeverClosed() {
        IsolatedProcess cat;
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            cat = env.start(Command.of("cat").withOpenStdin());
            assertThat(env.exec(Command.of("sleep", "0.2"))).succeeded();
            assertThat(cat.isAlive()).isTrue();
        }
        assertThat(cat.isAlive()).isFalse();
        assertThat(ProcessHandle.of(cat.hostPid())).isEmpty();
    }

    @Test
    @DisplayName("an output consumer that throws gets no more lines; exec throws what it threw once the command "
            + "exited, and every environment goes on")
    void consumerThrows(IsolatedEnvironment env) {
        try (IsolatedEnvironment bystander =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            AtomicLong lines = new AtomicLong();
            Command command = Command.of("sh", "-c", "echo one; echo two; echo three")
                    .withOutputLines(line -> {
                        lines.incrementAndGet();
                        throw new IllegalStateException("consumer fails at " + line);
                    });

            assertThatThrownBy(() -> env.exec(command))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessage("The output consumer of [sh, -c, echo one; echo two; echo three] "
                            + "(Command.withOutputLines) threw java.lang.IllegalStateException: consumer fails at one; "
                            + "it was given no more lines")
                    .hasRootCauseMessage("consumer fails at one");
            assertThat(lines).hasValue(1);
            stillWorks(env);
            stillWorks(bystander);
        }
    }

    @Test
    @DisplayName("an output consumer that fails an assertion fails waitFor with it; the process's output is kept")
    void consumerAssertionOfStartedProcess(IsolatedEnvironment env) {
        IsolatedProcess p = env.start(Command.of("sh", "-c", "echo unexpected; echo more")
                .withOutputLines(line -> assertThat(line).isEqualTo("expected")));

        assertThatThrownBy(() -> p.waitFor(Duration.ofSeconds(30)))
                .isInstanceOf(IsolatedException.class)
                .hasMessageStartingWith("The output consumer of [sh, -c, echo unexpected; echo more] "
                        + "(Command.withOutputLines) threw org.opentest4j.AssertionFailedError: ")
                .hasCauseInstanceOf(AssertionError.class);
        assertThat(p.isAlive()).isFalse();
        assertThat(p.stdout()).isEqualTo("unexpected\nmore\n");
        stillWorks(env);
    }

    @Test
    @DisplayName(
            "a pattern that overflows the regex engine's stack on a long line fails awaitOutput and Wait.forLogLine "
                    + "saying so; the output goes on being read, for every environment")
    void patternOverflowsOnLongLine(IsolatedEnvironment env) {
        // the line comes once awaitOutput watches: it is matched on the thread that reads the output
        IsolatedProcess p =
                env.start("sh", "-c", "sleep 0.5; head -c 100000 /dev/zero | tr '\\0' a; echo; echo next; sleep 100");

        // awaitOutput also matches a line still arriving (a prompt has no newline), so under load the overflow may
        // come with the first 64 KiB or so of it: the length is what had arrived
        assertThatThrownBy(() -> p.awaitOutput(Pattern.compile("(a|b)*c")))
                .isInstanceOf(IsolatedException.class)
                .hasMessageMatching(
                        "Matching /\\(a\\|b\\)\\*c/ against a line of [0-9]{4,6} characters of the output threw .*")
                .hasMessageEndingWith(" characters of the output threw "
                        + "java.lang.StackOverflowError; the JDK's regex engine recurses for each repetition of a group "
                        + "or an alternation, such as (a|b)*, so a long line overflows its stack: repeat a character "
                        + "class instead, such as [ab]*")
                .hasCauseInstanceOf(StackOverflowError.class);
        assertThatThrownBy(() -> Wait.forLogLine("(a|b)*c").waitUntilReady(env, p, Duration.ofSeconds(30)))
                .isInstanceOf(IsolatedException.class)
                .hasMessageStartingWith("Matching /(a|b)*c/ against a line of 100000 characters");
        assertThat(p.awaitOutput(Pattern.compile("^next$"))).isEqualTo("next");
        stillWorks(env);
    }

    @Test
    @DisplayName("twenty commands that each print more than the bound on stdout and stderr run in a JVM of 256 MiB of "
            + "heap: no more than the last result's output is kept")
    void manyFloodsInASmallHeap() throws Exception {
        List<String> lines = FixtureRunner.runInChildJvm(List.of(), List.of("-Xmx256m"), ManyFloodsCase.class);

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class ManyFloodsCase {
        @Test
        void floods() {
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                for (int i = 0; i < 20; i++) {
                    ExecResult r = env.exec("sh", "-c", "head -c 20000000 /dev/zero; head -c 20000000 /dev/zero >&2");
                    assertThat(r.stdoutDroppedBytes()).isEqualTo(20_000_000L - ExecResult.DEFAULT_MAX_OUTPUT_BYTES);
                    assertThat(r.stderrDroppedBytes()).isEqualTo(20_000_000L - ExecResult.DEFAULT_MAX_OUTPUT_BYTES);
                }
            }
        }
    }

    @Test
    @DisplayName("a 64 MiB line without a newline reaches an output consumer in pieces of the bound, and awaitOutput "
            + "finds a match at the end of a 20 MiB line")
    void endlessLine(IsolatedEnvironment env) {
        List<Integer> pieces = new CopyOnWriteArrayList<>();
        ExecResult r = env.exec(Command.of("sh", "-c", "head -c 67108864 /dev/zero | tr '\\0' x")
                .withOutputLines(line -> pieces.add(line.length())));

        assertThat(r).succeeded();
        assertThat(pieces).containsExactly(16 << 20, 16 << 20, 16 << 20, 16 << 20);

        IsolatedProcess p = env.start("sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' x; echo ready; sleep 100");
        assertThat(p.awaitOutput(Pattern.compile("ready"))).endsWith("xready");
    }

    @Test
    @DisplayName(
            "binary output and invalid UTF-8 are kept byte for byte; the text shows U+FFFD for what does not decode")
    void binaryOutput(IsolatedEnvironment env) {
        ExecResult r = env.exec("sh", "-c", "printf 'a\\377\\376b\\000c\\300'");

        assertThat(r.stdoutBytes()).containsExactly('a', 0xff, 0xfe, 'b', 0, 'c', 0xc0);
        assertThat(r.stdout()).isEqualTo("a\uFFFD\uFFFDb\0c\uFFFD");
    }
}
