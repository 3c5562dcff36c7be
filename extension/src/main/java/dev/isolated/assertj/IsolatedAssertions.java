package dev.isolated.assertj;

import static org.apiguardian.api.API.Status.STABLE;

import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.MountInfo;
import dev.isolated.ProcessInfo;
import java.util.List;
import org.apiguardian.api.API;

/**
 * Entry point of Isolated's AssertJ assertions. Import statically next to AssertJ's own:
 *
 * <pre>{@code
 * import static dev.isolated.assertj.IsolatedAssertions.assertThat;
 *
 * assertThat(env.exec("hostname")).succeeded().stdout().isEqualTo("box\n");
 * assertThat(env).pid1().hasCommand("isolated-init");
 * assertThat(env).mounts().containsMountPoint("/proc").doesNotContainMountPoint("/home");
 * assertThat(env).hostname().isEqualTo("box");
 * }</pre>
 *
 * Failure messages show the command, its exit code and the tail of its output, or the environment's
 * processes and mounts.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public final class IsolatedAssertions {
    private IsolatedAssertions() {}

    /**
     * Starts assertions on a command's result.
     *
     * @param actual the result of a command
     * @return assertions on it
     */
    public static ExecResultAssert assertThat(ExecResult actual) {
        return new ExecResultAssert(actual);
    }

    /**
     * Starts assertions on an environment.
     *
     * @param actual an environment
     * @return assertions on its PID 1, processes, mounts and hostname
     */
    public static IsolatedEnvironmentAssert assertThat(IsolatedEnvironment actual) {
        return new IsolatedEnvironmentAssert(actual);
    }

    /**
     * Starts assertions on a process.
     *
     * @param actual a process as seen in an environment
     * @return assertions on it
     */
    public static ProcessInfoAssert assertThat(ProcessInfo actual) {
        return new ProcessInfoAssert(actual);
    }

    /**
     * Starts assertions on a mount table.
     *
     * @param actual a mount table, e.g. {@link IsolatedEnvironment#mounts()}
     * @return assertions on it
     */
    public static MountsAssert assertThatMounts(List<MountInfo> actual) {
        return new MountsAssert(actual);
    }
}
