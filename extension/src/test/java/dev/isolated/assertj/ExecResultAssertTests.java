package dev.isolated.assertj;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.ExecResult;
import dev.isolated.ExecResults;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("ExecResultAssert")
class ExecResultAssertTests {

    private static ExecResult result(int code, String out, String err) {
        return ExecResults.exited(List.of("sh", "-c", "work"), code, out, err);
    }

    @Test
    @DisplayName("succeeded() passes on exit 0 and fails showing the command, exit code and output")
    void succeeded() {
        assertThat(result(0, "ok\n", "")).succeeded();

        assertThatThrownBy(() -> assertThat(result(2, "partial\n", "boom\n")).succeeded())
                .isInstanceOf(AssertionError.class)
                .hasMessage(
                        "Expected the command to succeed (exit code 0) but command [sh, -c, work] exited with code 2"
                                + "\n  stdout:\n    partial\n  stderr:\n    boom");
    }

    @Test
    @DisplayName("exitedWith(n) compares exit codes and shows the result")
    void exitedWith() {
        assertThat(result(3, "", "")).exitedWith(3);

        assertThatThrownBy(() -> assertThat(result(1, "", "no such file\n")).exitedWith(0))
                .hasMessageContaining(
                        "Expected the command to exit with code 0 but command [sh, -c, work] exited with code 1")
                .hasMessageContaining("no such file");
    }

    @Test
    @DisplayName("stdout(), stderr() and stdoutLines() fail showing the command, how it ended and both streams' tails")
    void streams() {
        assertThat(result(0, "a\nb\n", "warn\n")).stdoutLines().containsExactly("a", "b");

        assertThatThrownBy(() -> assertThat(result(1, "", "cat: can't open '/x'\n"))
                        .stdout()
                        .isEqualTo("hi"))
                .hasMessageStartingWith("[stdout of command [sh, -c, work] exited with code 1"
                        + "\n  stdout: (empty)\n  stderr:\n    cat: can't open '/x']");
        assertThatThrownBy(
                        () -> assertThat(result(0, "out\n", "warn\n")).stderr().isEmpty())
                .hasMessageStartingWith("[stderr of command [sh, -c, work] exited with code 0")
                .hasMessageContaining("    out")
                .hasMessageContaining("    warn");
        assertThatThrownBy(() ->
                        assertThat(result(2, "a\n", "boom\n")).stdoutLines().containsExactly("b"))
                .hasMessageStartingWith("[stdout lines of command [sh, -c, work] exited with code 2")
                .hasMessageContaining("    boom");
    }

    @Test
    @DisplayName("timedOut() and failed() say what happened instead")
    void timedOutAndFailed() {
        assertThatThrownBy(() -> assertThat(result(0, "", "")).timedOut())
                .hasMessageStartingWith(
                        "Expected the command to time out but command [sh, -c, work] exited with code 0");
        assertThatThrownBy(() -> assertThat(result(0, "", "")).failed())
                .hasMessageStartingWith("Expected the command to fail (exit code other than 0) but command");
    }
}
