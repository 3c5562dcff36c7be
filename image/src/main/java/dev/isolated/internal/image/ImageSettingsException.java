package dev.isolated.internal.image;

import dev.isolated.image.ImageException;

/**
 * A setting of the image code names something it cannot use: a value that is not valid, or a directory that is
 * not the user's own. The extension turns it into a {@code dev.isolated.IsolatedException} with the same message,
 * the type its configuration errors have; {@link dev.isolated.image.ImageBuilder} lets it through as the
 * {@link ImageException} it is.
 */
public final class ImageSettingsException extends ImageException {
    private static final long serialVersionUID = 1L;

    /** @param message the setting, what is wrong with it and what to change */
    public ImageSettingsException(String message) {
        super(message);
    }

    /**
     * @param message the setting, what is wrong with it and what to change
     * @param cause the underlying failure
     */
    public ImageSettingsException(String message, Throwable cause) {
        super(message, cause);
    }
}
