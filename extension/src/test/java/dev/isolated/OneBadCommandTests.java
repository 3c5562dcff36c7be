package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;

/** Issue 11: one bad command cannot hurt other environments. */
@DisplayName("one bad command cannot hurt other environments")
class OneBadCommandTests {
    private static final String FIFTY = "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij";
    static final String LONG_HOSTNAME = FIFTY + FIFTY + FIFTY + FIFTY + FIFTY + FIFTY;

    @Test
    @DisplayName("300 MB on stdout: exit 0, the first and last 8 MiB kept, the rest counted as dropped")
    void floodIsBounded() {
        try (IsolatedEnvironment bystander =
                        IsolatedEnvironment.builder().rootfs("busybox.tar").start();
                IsolatedEnvironment flooder =
                        IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            ExecResult r = flooder.exec("sh", "-c", "echo first; head -c 300000000 /dev/zero; echo; echo last");

            assertThat(r).succeeded();
            int bound = ExecResult.DEFAULT_MAX_OUTPUT_BYTES;
            long total = "first\n".length() + 300_000_000L + "\nlast\n".length();
            assertThat(r.stdoutBytes()).hasSize(bound);
            assertThat(r.stdoutDroppedBytes()).isEqualTo(total - bound);
            assertThat(r.stderrDroppedBytes()).isZero();
            assertThat(r.stdout()).startsWith("first\n").endsWith("\nlast\n");
            assertThat(r.toString()).contains(String.format("[... %,d bytes dropped ...]", total - bound));
            assertThat(bystander.exec("echo", "fine")).stdout().isEqualTo("fine\n");
        }
    }

    @Test
    @DisplayName("withMaxOutputBytes keeps the head and the tail; withOutputLines still sees every line")
    void customBoundAndLines() {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            AtomicLong lines = new AtomicLong();
            List<String> last = new ArrayList<>();
            ExecResult r = env.exec(
                    Command.of("seq", "1", "100000").withMaxOutputBytes(10).withOutputLines(line -> {
                        lines.incrementAndGet();
                        synchronized (last) {
                            last.clear();
                            last.add(line);
                        }
                    }));

            assertThat(r.stdout()).isEqualTo("1\n2\n3" + "0000\n"); // the first 5 bytes and the last 5
            assertThat(lines.get()).isEqualTo(100_000);
            assertThat(last).containsExactly("100000");
            assertThat(r.stdoutDroppedBytes()).isEqualTo(588_895 - 10);
        }
    }

    @Test
    @DisplayName("a command line over the helper's limit is an IllegalArgumentException; the environments go on")
    void oversizedCommandLine() {
        try (IsolatedEnvironment env =
                        IsolatedEnvironment.builder().rootfs("busybox.tar").start();
                IsolatedEnvironment other =
                        IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThatThrownBy(() -> env.exec("echo", "x".repeat(2 << 20)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("The command line of [echo, xxxx")
                    .hasMessageContaining("makes a request of 2,097,")
                    .hasMessageContaining("over the isolated helper's limit of 1,048,576 bytes");

            ExecResult tooLong = env.exec("echo", "x".repeat(200 << 10));
            assertThat(tooLong)
                    .exitedWith(126)
                    .stderr()
                    .isEqualTo("isolated: echo: cannot execute (execve echo: Argument list too long)\n");
            assertThat(env.exec("sh", "-c", "echo ${#1} ${#2}", "sh", "a".repeat(100 << 10), "b".repeat(100 << 10)))
                    .stdout()
                    .isEqualTo("102400 102400\n");
            assertThat(other.exec("echo", "fine")).stdout().isEqualTo("fine\n");
        }
    }

    @Test
    @DisplayName("an invalid hostname is an IllegalArgumentException naming it and the rule")
    void invalidHostname() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder().hostname(LONG_HOSTNAME))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid hostname \"" + LONG_HOSTNAME + "\" (300 bytes): a hostname is at most 64 bytes "
                        + "(the kernel's HOST_NAME_MAX) of letters, digits, hyphens and dots, in labels of 1 to 63 "
                        + "characters that neither start nor end with a hyphen (RFC 1123)");
        for (String bad : List.of("-box", "box-", "a..b", "under_score", "sp ace", "a".repeat(64) + ".b")) {
            assertThatThrownBy(() -> IsolatedEnvironment.builder().hostname(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("\"" + bad + "\"");
        }
        IsolatedEnvironment.builder()
                .hostname("box-1.example")
                .hostname("a".repeat(63))
                .hostname("");
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.UTS)
                .hostname("box")
                .start()) {
            assertThatThrownBy(() -> env.setHostname(LONG_HOSTNAME))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Invalid hostname \"" + LONG_HOSTNAME + "\"");
            assertThat(env.hostname()).isEqualTo("box");
        }
    }

    @Test
    @DisplayName("@Isolated(hostname = <300 characters>) fails the test (it is not skipped)")
    void invalidHostnameInTheAnnotationFails() {
        EngineRunner.run(LongHostnameFixture.class)
                .testEvents()
                .assertStatistics(s -> s.failed(1).aborted(0))
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("named"),
                                finishedWithFailure(
                                        instanceOf(ExtensionConfigurationException.class),
                                        message(m -> m.startsWith(
                                                "@Isolated(hostname = ...): Invalid hostname \"" + LONG_HOSTNAME)))));
    }

    static class LongHostnameFixture {
        @Test
        @Isolated(rootfs = "busybox.tar", hostname = LONG_HOSTNAME)
        void named(IsolatedEnvironment env) {}
    }
}
