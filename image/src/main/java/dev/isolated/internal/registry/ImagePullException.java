package dev.isolated.internal.registry;

import dev.isolated.image.ImageException;

/**
 * An image named by {@code @Isolated(image = ...)} cannot be pulled or is not in the store. The message
 * starts with {@code Image <name>: } and says why: an unknown name or tag, refused credentials (naming
 * which were tried), a rate limit, no manifest for this platform, a blob that does not match its digest,
 * or {@code isolated.pull=never} with the image not stored.
 */
public final class ImagePullException extends ImageException {

    /** @param message what failed, naming the image */
    public ImagePullException(String message) {
        super(message);
    }

    /**
     * @param message what failed, naming the image
     * @param cause the underlying failure
     */
    public ImagePullException(String message, Throwable cause) {
        super(message, cause);
    }
}
