package dev.isolated.internal.env;

import dev.isolated.image.ImageConfig;
import java.nio.file.Path;
import java.util.List;

/**
 * What a frozen environment is made of: its image and its layers, the newest (its own writable layer, copied)
 * first.
 *
 * @param rootfs the unpacked image it ran on
 * @param image the image's run defaults
 * @param layers the read-only layers over the image, topmost first
 */
public record FrozenLayer(Path rootfs, ImageConfig image, List<Path> layers) {
    /** The most read-only layers an environment can start from (the helper's {@code MAX_LAYERS}). */
    public static final int MAX_LAYERS = 8;

    /** Copies the list. */
    public FrozenLayer {
        layers = List.copyOf(layers);
    }
}
