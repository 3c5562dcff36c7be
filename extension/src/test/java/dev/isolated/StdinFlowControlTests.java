package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.InterruptAndCloseTests.Outcome;
import dev.isolated.internal.helper.SharedHelper;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * An open stdin written faster than its command reads: the write waits (the helper keeps at most a few MiB of what
 * the command has not read) and goes on as the command reads; the command's exit, closing its stdin, or an interrupt
 * ends the wait.
 */
@DisplayName("an open stdin's flow control")
class StdinFlowControlTests {
    private static final int MIB = 1024 * 1024;
    private static final Duration LONG = Duration.ofMinutes(10);

    private static IsolatedEnvironment busybox() {
        return IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .awaitTimeout(LONG)
                .execTimeout(LONG)
                .start();
    }

    /** Starts the command with an open stdin and stops it (SIGSTOP): it reads nothing until SIGCONT. */
    private static IsolatedProcess stopped(IsolatedEnvironment env, String... command) {
        IsolatedProcess p = env.start(Command.of(command).withOpenStdin());
        p.signal(19);
        return p;
    }

    /** Writes {@code mib} MiB to the process's stdin, then closes it. */
    private static String write(IsolatedProcess p, int mib) throws IOException {
        byte[] block = new byte[MIB];
        for (int i = 0; i < mib; i++) {
            p.stdin().write(block);
        }
        p.stdin().close();
        return "written";
    }

    /** @return the helper's resident memory, from /proc/PID/status (VmRSS) */
    private static long helperRssBytes() throws IOException {
        for (String line : Files.readAllLines(
                Path.of("/proc", Long.toString(SharedHelper.get().pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in the helper's status");
    }

    @Test
    @DisplayName("256 MiB written to a stopped command: the write waits while the helper's memory stays bounded, and "
            + "ends once the command reads on; every byte arrives")
    void writerWaitsForTheCommand() throws Exception {
        try (IsolatedEnvironment env = busybox()) {
            IsolatedProcess wc = stopped(env, "wc", "-c");
            long before = helperRssBytes();

            Outcome o = InterruptAndCloseTests.blockedThen(() -> write(wc, 256), writer -> {
                assertThat(writer.isAlive())
                        .as("the writer waits for the stopped command")
                        .isTrue();
                try {
                    assertThat(helperRssBytes() - before)
                            .as("what the helper grew by, holding the unread stdin")
                            .isLessThan(64L * MIB); // all of it: 256 MiB
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                assertThat(writer.isAlive()).as("still waiting").isTrue();
                wc.signal(18); // SIGCONT: it reads on
            });

            assertThat(o.thrown()).isNull();
            assertThat(o.result()).isEqualTo("written");
            assertThat(wc.awaitExit()).succeeded().stdout().isEqualTo((256L * MIB) + "\n");
        }
    }

    @Test
    @DisplayName("a write waiting for a command that exits (killed) throws the exited IOException")
    void exitEndsTheWait() throws Exception {
        try (IsolatedEnvironment env = busybox()) {
            IsolatedProcess cat = stopped(env, "cat");

            Outcome o = InterruptAndCloseTests.blockedThen(() -> write(cat, 64), writer -> cat.kill());

            // the exit or, when the helper saw the pipe break first, the broken pipe
            assertThat(o.thrown())
                    .isExactlyInstanceOf(IOException.class)
                    .message()
                    .isIn(
                            "The process has exited: nothing reads its stdin any more (broken pipe)",
                            "The process closed its stdin or exited: nothing reads it any more (broken pipe)");
            assertThat(cat.isAlive()).isFalse();
        }
    }

    @Test
    @DisplayName("writing more than the helper keeps to a running command that closed its stdin throws the broken "
            + "pipe IOException, as does every write after it; the command runs on")
    void closedStdinEndsTheWait() throws Exception {
        try (IsolatedEnvironment env = busybox()) {
            IsolatedProcess closer = env.start(Command.of("sh", "-c", "exec 0<&-; echo closed; exec sleep 600")
                    .withOpenStdin());
            closer.awaitOutput(Pattern.compile("closed"));

            Outcome o = InterruptAndCloseTests.blockedThen(() -> write(closer, 64), writer -> {});

            assertThat(o.thrown())
                    .isExactlyInstanceOf(IOException.class)
                    .hasMessage("The process closed its stdin or exited: nothing reads it any more (broken pipe)");
            assertThat(closer.isAlive()).isTrue();
            assertThat(org.assertj.core.api.Assertions.catchThrowable(
                            () -> closer.stdin().write('x')))
                    .isExactlyInstanceOf(IOException.class)
                    .hasMessageContaining("closed its stdin");
        }
    }

    @Test
    @DisplayName("a write waiting for the command, interrupted: InterruptedIOException, the interrupt kept, the "
            + "command runs on and still reads what follows")
    void interruptEndsTheWait() throws Exception {
        try (IsolatedEnvironment env = busybox()) {
            IsolatedProcess wc = stopped(env, "wc", "-c");

            Outcome o = InterruptAndCloseTests.blockedThen(() -> write(wc, 64), Thread::interrupt);

            assertThat(o.thrown())
                    .isExactlyInstanceOf(InterruptedIOException.class)
                    .hasMessageStartingWith("Interrupted while waiting for [wc, -c] (host pid " + wc.hostPid()
                            + ") to read its stdin (")
                    .hasMessageEndingWith(
                            " bytes written that it has not read); it still runs (kill() stops it, as closing its "
                                    + "environment does)")
                    .hasCauseInstanceOf(InterruptedException.class);
            assertThat(o.interruptedAfter()).isTrue();
            long sent = ((InterruptedIOException) o.thrown()).bytesTransferred;
            assertThat(wc.isAlive()).isTrue();
            wc.signal(18);
            wc.stdin().write(new byte[3]);
            wc.stdin().close();
            long read = Long.parseLong(wc.awaitExit().stdout().trim());
            assertThat((read - sent - 3) % MIB)
                    .as("whole blocks before the interrupted one, its " + sent + " bytes sent and the 3 after: " + read)
                    .isZero();
        }
    }
}
