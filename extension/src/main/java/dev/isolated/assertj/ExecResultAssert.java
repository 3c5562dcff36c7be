package dev.isolated.assertj;

import static org.apiguardian.api.API.Status.STABLE;

import dev.isolated.ExecResult;
import org.apiguardian.api.API;
import org.assertj.core.api.AbstractAssert;
import org.assertj.core.api.AbstractStringAssert;
import org.assertj.core.api.Assertions;
import org.assertj.core.api.ListAssert;

/**
 * Assertions on an {@link ExecResult}. Every failure message shows the command, how it ended and the
 * tail of its stdout and stderr, also those of the string and list assertions that {@link #stdout()},
 * {@link #stderr()} and {@link #stdoutLines()} return (in their description, e.g. {@code [stdout of command
 * [cat, /x] exited with code 1 ...]}).
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public final class ExecResultAssert extends AbstractAssert<ExecResultAssert, ExecResult> {

    /**
     * Creates assertions on a command's result.
     *
     * @param actual the result under test
     */
    public ExecResultAssert(ExecResult actual) {
        super(actual, ExecResultAssert.class);
    }

    /**
     * Verifies that the command exited with code 0 (and did not time out).
     *
     * <pre>{@code assertThat(env.exec("true")).succeeded();  // passes
     * assertThat(env.exec("false")).succeeded(); // fails, showing the command and its output}</pre>
     *
     * @return this assertion
     */
    public ExecResultAssert succeeded() {
        isNotNull();
        if (!actual.succeeded()) {
            failWithMessage("Expected the command to succeed (exit code 0) but %s", actual);
        }
        return this;
    }

    /**
     * Verifies that the command exited with the given code ({@code 128 + N} when killed by signal N).
     *
     * @param expected the exit code
     * @return this assertion
     */
    public ExecResultAssert exitedWith(int expected) {
        isNotNull();
        if (actual.exitCode() != expected) {
            throw failureWithActualExpected(
                    actual.exitCode(), expected, "Expected the command to exit with code %d but %s", expected, actual);
        }
        return this;
    }

    /**
     * Verifies that the command exited with a code other than 0.
     *
     * @return this assertion
     */
    public ExecResultAssert failed() {
        isNotNull();
        if (actual.exitCode() == 0) {
            failWithMessage("Expected the command to fail (exit code other than 0) but %s", actual);
        }
        return this;
    }

    /**
     * Verifies that the command was stopped at its timeout.
     *
     * @return this assertion
     */
    public ExecResultAssert timedOut() {
        isNotNull();
        if (!actual.timedOut()) {
            failWithMessage("Expected the command to time out but %s", actual);
        }
        return this;
    }

    /** {@return assertions on the stdout (complete up to its bound, see {@link ExecResult#stdoutDroppedBytes()})} */
    public AbstractStringAssert<?> stdout() {
        isNotNull();
        return Assertions.assertThat(actual.stdout()).as("stdout of %s", actual);
    }

    /** {@return assertions on the stderr (complete up to its bound, see {@link ExecResult#stderrDroppedBytes()})} */
    public AbstractStringAssert<?> stderr() {
        isNotNull();
        return Assertions.assertThat(actual.stderr()).as("stderr of %s", actual);
    }

    /** {@return assertions on the lines of stdout} */
    public ListAssert<String> stdoutLines() {
        isNotNull();
        return Assertions.assertThat(actual.stdoutLines()).as("stdout lines of %s", actual);
    }
}
