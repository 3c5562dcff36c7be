package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * Closing an environment left something behind; the message lists every leftover, causes are suppressed exceptions.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public class EnvironmentCleanupException extends IsolatedException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message the leftovers
     */
    EnvironmentCleanupException(String message) {
        super(message);
    }
}
