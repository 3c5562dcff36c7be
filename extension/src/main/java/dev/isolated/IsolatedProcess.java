package dev.isolated;

import java.time.Duration;
import java.util.List;

/**
 * A command running in the background in an {@link IsolatedEnvironment}, started with
 * {@link CommandRunner#start(String...)}. It is killed, at the latest, when its environment closes.
 */
public interface IsolatedProcess {

    /** @return the command, program first */
    List<String> command();

    /** @return the process id as seen inside the environment's PID namespace */
    long pid();

    /** @return the process id on the host (in the JVM's PID namespace) */
    long hostPid();

    /** @return whether the process is still running */
    boolean isAlive();

    /** @return the standard output so far, decoded as UTF-8 */
    String stdout();

    /** @return the standard error so far, decoded as UTF-8 */
    String stderr();

    /**
     * Waits until the process exits.
     *
     * @param timeout how long to wait at most
     * @return the result, with the complete output
     * @throws java.util.concurrent.CompletionException wrapping a {@link java.util.concurrent.TimeoutException}
     *     that says what the process printed so far, when it is still running after {@code timeout}
     */
    ExecResult waitFor(Duration timeout);

    /**
     * Sends a signal to the process.
     *
     * @param signal the signal number, e.g. 15 for SIGTERM
     */
    void signal(int signal);

    /**
     * Kills the process with SIGKILL and waits for it.
     *
     * @return the result, with exit code 137 unless the process had already exited
     */
    ExecResult kill();
}
