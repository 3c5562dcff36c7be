package dev.isolated.images.build;

/**
 * The images cannot be built on this host; the message says what is missing and how to fix it.
 */
public final class ImageBuildException extends RuntimeException {

    /**
     * @param message what failed and how to fix it
     */
    public ImageBuildException(String message) {
        super(message);
    }

    /**
     * @param message what failed and how to fix it
     * @param cause the underlying failure
     */
    public ImageBuildException(String message, Throwable cause) {
        super(message, cause);
    }
}
