package dev.isolated;

/** The base of the exceptions Isolated throws; the message says what failed and what to change. */
public class IsolatedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed and what to change
     */
    public IsolatedException(String message) {
        super(message);
    }

    /**
     * @param message what failed and what to change
     * @param cause the underlying failure
     */
    public IsolatedException(String message, Throwable cause) {
        super(message, cause);
    }
}
