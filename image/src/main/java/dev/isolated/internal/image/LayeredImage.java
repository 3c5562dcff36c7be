package dev.isolated.internal.image;

import dev.isolated.image.ImageConfig;
import java.util.List;

/**
 * One image chosen from a layout: its run defaults and its layers, lowest first.
 *
 * @param config the config's run defaults
 * @param layers the layers to apply in order
 */
record LayeredImage(ImageConfig config, List<Layer> layers) {

    /**
     * One layer blob.
     *
     * @param path its file in the layout
     * @param digest the digest its bytes must have ({@code sha256:...})
     * @param description names it in messages, e.g. {@code layer 2 of 3 (sha256:ab12...)}
     * @param diffId the digest of its uncompressed tar as the config's {@code rootfs.diff_ids} gives it
     *     (checked while it is unpacked), or {@code null} when the config lists none for it
     */
    record Layer(String path, String digest, String description, String diffId) {}

    /** Copies the layers. */
    LayeredImage {
        layers = List.copyOf(layers);
    }
}
