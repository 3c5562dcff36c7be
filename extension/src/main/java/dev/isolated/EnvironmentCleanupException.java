package dev.isolated;

/** Closing an environment left something behind; the message lists every leftover, causes are suppressed exceptions. */
public class EnvironmentCleanupException extends IsolatedException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message the leftovers
     */
    public EnvironmentCleanupException(String message) {
        super(message);
    }
}
