package dev.isolated.image;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import org.apiguardian.api.API;

/**
 * An image cannot be used: it is not found, it cannot be read, unpacked or pulled, or a setting of the image cache
 * is wrong (a directory of another user, a value that is not valid). The message names the image (or the setting)
 * and says what to change. {@link ImageBuilder} throws it; an environment made by {@code @Isolated} or
 * {@code IsolatedEnvironment.builder()} throws it too where its image cannot be found, unpacked or pulled, and a
 * {@code dev.isolated.IsolatedException} with the same message where a setting is wrong.
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public class ImageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception with a message.
     *
     * @param message what failed and what to change
     */
    public ImageException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and its cause.
     *
     * @param message what failed and what to change
     * @param cause the underlying failure
     */
    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
