package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * Runs commands in an environment. {@link IsolatedEnvironment} joins all of the environment's
 * namespaces; {@link IsolatedEnvironment#enter(LinuxNamespace...)} gives a runner that joins only some, as
 * {@code nsenter} does.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public interface CommandRunner {

    /**
     * Runs a command, waits for it (up to the default timeout, {@code isolated.exec.timeout}) and returns its
     * exit code and output (complete up to {@link ExecResult#DEFAULT_MAX_OUTPUT_BYTES} per stream, see
     * {@link ExecResult}). The program is looked up on the environment's {@code PATH}; stdin is
     * empty. It returns when the command exits, also when something it started in the background still holds its
     * stdout or stderr: that runs on until the environment closes, and what it writes there after the command's
     * exit is dropped (its writes fail with {@code EPIPE}, a {@code SIGPIPE} kills it unless it ignores that).
     *
     * @param command the program and its arguments
     * @return the result; a missing program gives exit code 127 (see {@link ExecResult} for 125 and 126)
     */
    default ExecResult exec(String... command) {
        return exec(Command.of(command));
    }

    /**
     * Runs a command with options (stdin, environment variables, working directory, user, timeout, output
     * streaming) and waits for it. When it runs past its timeout its process group (the command and what it
     * started that stayed in it) gets SIGTERM, then SIGKILL two seconds later, and the result says
     * {@link ExecResult#timedOut()}.
     *
     * <p>When the waiting thread is interrupted, the command is killed with what it started in its process group
     * (SIGKILL), and an {@link IsolatedException} ({@code Interrupted while waiting for [COMMAND]: it was killed
     * (SIGKILL to its process group)}) is thrown once it and what was in its group are gone (at most 5 s after the
     * command's exit); the thread's interrupt status is kept.
     *
     * @param command the command and its options
     * @return the result; a program that cannot run gives exit code 127, 126 or 125 (see {@link ExecResult})
     * @throws IllegalStateException when the environment is closed ({@code This isolated environment is closed: ...})
     * @throws IllegalArgumentException when the command has {@link Command#withOpenStdin()} (nothing could write to
     *     it while {@code exec} waits: use {@link #start(Command)}), or when its arguments and environment variables
     *     are over the helper's limit of 1,048,576 bytes; nothing is sent and the environment goes on
     * @throws IsolatedException when its user cannot be found or switched to ({@code Command.withUser("postgres"): no
     *     user "postgres" in the environment's /etc/passwd; ...}, {@code Command [id] cannot run as ...}), when its
     *     {@link Command#withOutputLines} consumer threw, or when the thread is interrupted
     * @throws EnvironmentSetupException at stage {@code exec} when the helper cannot start it (out of file
     *     descriptors), which is no exit code
     */
    ExecResult exec(Command command);

    /**
     * Starts a command in the background, for daemons and anything a test talks to while it runs.
     *
     * @param command the program and its arguments
     * @return a handle on the running process
     */
    default IsolatedProcess start(String... command) {
        return start(Command.of(command));
    }

    /**
     * Starts a command with options in the background. Its timeout, if any, is ignored: use
     * {@link IsolatedProcess#waitFor(java.time.Duration)}.
     *
     * @param command the command and its options
     * @return a handle on the running process; a program that cannot run exits at once with 127, 126 or 125
     * @throws IllegalStateException when the environment is closed
     * @throws IllegalArgumentException when its arguments and environment variables are over the helper's limit of
     *     1,048,576 bytes; nothing is sent and the environment goes on
     * @throws IsolatedException when its user cannot be found or switched to, as for {@link #exec(Command)}
     * @throws EnvironmentSetupException at stage {@code exec} when the helper cannot start it (out of file
     *     descriptors)
     */
    IsolatedProcess start(Command command);
}
