package dev.isolated.internal.image;

import dev.isolated.image.ImageException;

/**
 * The {@code rootfs} of {@code @Isolated} names no classpath resource and no file or directory. The
 * message lists every place that was tried and how to make the image available.
 */
public final class ImageNotFoundException extends ImageException {

    /**
     * @param message the places tried and the fix
     */
    public ImageNotFoundException(String message) {
        super(message);
    }
}
