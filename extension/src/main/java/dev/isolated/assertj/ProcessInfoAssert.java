package dev.isolated.assertj;

import static org.apiguardian.api.API.Status.STABLE;

import dev.isolated.ProcessInfo;
import org.apiguardian.api.API;
import org.assertj.core.api.AbstractAssert;
import org.assertj.core.api.AbstractStringAssert;
import org.assertj.core.api.Assertions;

/**
 * Assertions on a process as an environment sees it.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public final class ProcessInfoAssert extends AbstractAssert<ProcessInfoAssert, ProcessInfo> {

    /**
     * Creates assertions on a process.
     *
     * @param actual the process under test
     */
    public ProcessInfoAssert(ProcessInfo actual) {
        super(actual, ProcessInfoAssert.class);
    }

    /**
     * Verifies the process's command name ({@code comm}, as {@code ps -o comm} shows it).
     *
     * <pre>{@code assertThat(env).pid1().hasCommand("isolated-init");}</pre>
     *
     * @param expected the command name
     * @return this assertion
     */
    public ProcessInfoAssert hasCommand(String expected) {
        isNotNull();
        if (!actual.command().equals(expected)) {
            throw failureWithActualExpected(
                    actual.command(),
                    expected,
                    "Expected process %d to be command \"%s\" but it is \"%s\" (%s)",
                    actual.pid(),
                    expected,
                    actual.command(),
                    actual.commandLine());
        }
        return this;
    }

    /**
     * Verifies the process's pid inside the environment.
     *
     * @param expected the pid
     * @return this assertion
     */
    public ProcessInfoAssert hasPid(long expected) {
        isNotNull();
        if (actual.pid() != expected) {
            throw failureWithActualExpected(actual.pid(), expected, "Expected %s to have pid %d", actual, expected);
        }
        return this;
    }

    /** {@return assertions on the full command line} */
    public AbstractStringAssert<?> commandLine() {
        isNotNull();
        return Assertions.assertThat(actual.commandLine()).as("command line of pid %d", actual.pid());
    }
}
