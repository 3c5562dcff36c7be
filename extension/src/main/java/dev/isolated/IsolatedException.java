package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * The base of the exceptions Isolated throws; the message says what failed and what to change.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public class IsolatedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception with a message.
     *
     * @param message what failed and what to change
     */
    public IsolatedException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and its cause.
     *
     * @param message what failed and what to change
     * @param cause the underlying failure
     */
    public IsolatedException(String message, Throwable cause) {
        super(message, cause);
    }
}
