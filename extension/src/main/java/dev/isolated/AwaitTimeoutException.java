package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * What a test awaited did not happen within {@value IsolatedConfiguration#AWAIT_TIMEOUT}:
 * {@link IsolatedProcess#awaitOutput}, {@link IsolatedProcess#awaitExit()}, {@link IsolatedEnvironment#awaitPort}
 * or {@link IsolatedEnvironment#awaitFile}. The message names what was awaited, the timeout and what sets it
 * ({@code within 300 ms (the await timeout: isolated.await.timeout, or builder().awaitTimeout(...))}), and what was
 * seen instead: the process's output so far, or the ports that do listen.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public class AwaitTimeoutException extends IsolatedException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what was awaited, for how long, and what was seen instead
     */
    AwaitTimeoutException(String message) {
        super(message);
    }
}
