package dev.isolated.internal.image;

import dev.isolated.image.ImageException;

/**
 * An image cannot be unpacked: an entry is unsafe (it would land outside the rootfs), the archive is
 * truncated or corrupt, its format is not supported, or it exceeds a limit. The message names the
 * image and, where there is one, the entry.
 */
public class ImageUnpackException extends ImageException {

    /**
     * @param message what failed, naming the image and entry
     */
    public ImageUnpackException(String message) {
        super(message);
    }

    /**
     * @param message what failed, naming the image and entry
     * @param cause the underlying failure
     */
    public ImageUnpackException(String message, Throwable cause) {
        super(message, cause);
    }
}
