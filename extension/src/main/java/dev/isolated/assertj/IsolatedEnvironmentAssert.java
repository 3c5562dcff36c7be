package dev.isolated.assertj;

import static org.apiguardian.api.API.Status.STABLE;

import dev.isolated.IsolatedEnvironment;
import dev.isolated.ProcessInfo;
import java.util.List;
import java.util.stream.Collectors;
import org.apiguardian.api.API;
import org.assertj.core.api.AbstractAssert;
import org.assertj.core.api.AbstractStringAssert;
import org.assertj.core.api.Assertions;
import org.assertj.core.api.ListAssert;

/**
 * Assertions on an {@link IsolatedEnvironment}: its PID 1, its processes, its mounts and its hostname,
 * each read at the moment of the assertion.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public final class IsolatedEnvironmentAssert extends AbstractAssert<IsolatedEnvironmentAssert, IsolatedEnvironment> {

    /**
     * Creates assertions on an environment.
     *
     * @param actual the environment under test
     */
    public IsolatedEnvironmentAssert(IsolatedEnvironment actual) {
        super(actual, IsolatedEnvironmentAssert.class);
    }

    /**
     * Navigates to the environment's PID 1, failing when its PID namespace has none.
     *
     * <pre>{@code assertThat(env).pid1().hasCommand("isolated-init");}</pre>
     *
     * @return assertions on PID 1
     */
    public ProcessInfoAssert pid1() {
        isNotNull();
        List<ProcessInfo> all = actual.processes();
        ProcessInfo pid1 = all.stream().filter(p -> p.pid() == 1).findFirst().orElse(null);
        if (pid1 == null) {
            failWithMessage("Expected the environment to have a PID 1 but its processes are:%n%s", table(all));
        }
        return new ProcessInfoAssert(pid1);
    }

    /** {@return assertions on the environment's processes, ordered by pid} */
    public ListAssert<ProcessInfo> processes() {
        isNotNull();
        return Assertions.assertThat(actual.processes()).as("processes of %s", actual);
    }

    /** {@return assertions on the environment's mount table} */
    public MountsAssert mounts() {
        isNotNull();
        return new MountsAssert(actual.mounts());
    }

    /** {@return assertions on the environment's current hostname} */
    public AbstractStringAssert<?> hostname() {
        isNotNull();
        return Assertions.assertThat(actual.hostname()).as("hostname of %s", actual);
    }

    private static String table(List<ProcessInfo> processes) {
        return processes.stream()
                .map(p -> "  " + p.pid() + " " + p.command() + " " + p.commandLine())
                .collect(Collectors.joining(System.lineSeparator()));
    }
}
