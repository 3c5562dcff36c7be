package dev.isolated.internal.image;

import dev.isolated.internal.json.JsonException;
import dev.isolated.internal.json.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.security.DigestInputStream;

import dev.isolated.image.ImageConfig;

/**
 * Applies the layers of one image from a layout, lowest first, checking each blob's digest. A
 * {@code docker save} archive is read through its {@code manifest.json} (as {@code docker load} does,
 * also for Docker 25+ archives that carry an OCI {@code index.json} too); any other layout through
 * {@code index.json}.
 */
final class LayoutUnpacker {

    private LayoutUnpacker() {
    }

    /**
     * Chooses the image, applies its layers through {@code extraction} and returns its run defaults.
     * The caller calls {@link TarExtraction#finish()}.
     *
     * @param reference the wanted tag, or {@code null} when the layout holds one image
     * @throws ImageUnpackException if the layout is malformed, a blob is missing or does not match its
     *     digest, or a layer is unsafe or corrupt
     */
    static ImageConfig unpack(LayoutDirectory layout, String reference, String image, TarExtraction extraction) {
        LayeredImage chosen;
        try {
            chosen = layout.has("manifest.json")
                    ? DockerSaveReader.read(layout, reference, image)
                    : OciLayoutReader.read(layout, reference, image);
        }
        catch (JsonException e) {
            throw new ImageUnpackException("Image " + image + " has a malformed layout: " + e.getMessage(), e);
        }
        for (LayeredImage.Layer layer : chosen.layers()) {
            apply(layout, layer, image, extraction);
        }
        return chosen.config();
    }

    private static void apply(LayoutDirectory layout, LayeredImage.Layer layer, String image, TarExtraction extraction) {
        try (DigestInputStream in = layout.openDigesting(layer.path(), layer.digest(), layer.description())) {
            try {
                extraction.extractLayer(in, layer.description());
            }
            catch (ImageUnpackException e) {
                // A tampered blob may break the tar before its end: then the digest is the better reason.
                in.transferTo(OutputStream.nullOutputStream());
                try {
                    layout.checkDigest(layer.digest(), Sha256.hex(in.getMessageDigest()), layer.path(), layer.description());
                }
                catch (ImageUnpackException mismatch) {
                    mismatch.addSuppressed(e);
                    throw mismatch;
                }
                throw e;
            }
            in.transferTo(OutputStream.nullOutputStream());
            layout.checkDigest(layer.digest(), Sha256.hex(in.getMessageDigest()), layer.path(), layer.description());
        }
        catch (IOException e) {
            throw new ImageUnpackException("Image " + image + ": cannot read " + layer.description()
                    + " from '" + layer.path() + "': " + e, e);
        }
    }
}
