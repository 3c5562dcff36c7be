package dev.isolated;

/**
 * Runs commands in an environment. {@link IsolatedEnvironment} joins all of the environment's
 * namespaces; {@link IsolatedEnvironment#enter(Namespace...)} gives a runner that joins only some, as
 * {@code nsenter} does.
 */
public interface CommandRunner {

    /**
     * Runs a command, waits for it (up to the default timeout, see {@code isolated.exec.timeout}) and
     * returns its exit code and complete output. The program is looked up on the environment's
     * {@code PATH}; stdin is empty.
     *
     * @param command the program and its arguments
     * @return the result; a missing program gives exit code 127
     */
    ExecResult exec(String... command);

    /**
     * Starts a command in the background, for daemons and anything a test talks to while it runs.
     *
     * @param command the program and its arguments
     * @return a handle on the running process
     */
    IsolatedProcess start(String... command);
}
