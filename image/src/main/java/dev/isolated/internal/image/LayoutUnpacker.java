package dev.isolated.internal.image;

import dev.isolated.internal.json.JsonException;
import java.io.IOException;
import java.io.OutputStream;
import java.security.DigestInputStream;

/**
 * Chooses one image from a layout and reads its layers, checking each blob's digest. A
 * {@code docker save} archive is read through its {@code manifest.json} (as {@code docker load} does,
 * also for Docker 25+ archives that carry an OCI {@code index.json} too); any other layout through
 * {@code index.json}.
 */
final class LayoutUnpacker {

    private static final String MANIFEST = "manifest.json";
    private static final String INDEX = "index.json";
    private static final String TAKEN_AS_IMAGE =
            " An archive or directory with manifest.json, index.json or oci-layout "
                    + "at its top is read as an image, never as a rootfs.";

    private LayoutUnpacker() {}

    /**
     * Chooses the image of the layout: its run defaults and layers.
     *
     * @param reference the wanted tag, or {@code null} when the layout holds one image
     * @throws ImageUnpackException if the layout is malformed
     */
    static LayeredImage choose(LayoutDirectory layout, String reference, String image) {
        boolean dockerSave = layout.holds(MANIFEST);
        if (!dockerSave && !layout.holds(INDEX)) {
            throw new ImageUnpackException("Image " + image + ": it holds " + String.join(" and ", layout.markers())
                    + " but no " + INDEX + " (nor a docker save " + MANIFEST
                    + "), so it is an incomplete OCI image layout."
                    + TAKEN_AS_IMAGE);
        }
        try {
            return dockerSave
                    ? DockerSaveReader.read(layout, reference, image)
                    : OciLayoutReader.read(layout, reference, image);
        } catch (JsonException e) {
            String top = dockerSave ? MANIFEST : INDEX;
            boolean aboutTop = e.getMessage().startsWith(top + " of image ");
            throw new ImageUnpackException(
                    "Image " + image + ": malformed image layout: " + e.getMessage()
                            + (aboutTop ? "." + TAKEN_AS_IMAGE : ""),
                    e);
        }
    }

    /** The size of a layer's blob in the layout, for progress reports. */
    static long size(LayoutDirectory layout, LayeredImage.Layer layer) {
        return layout.size(layer.path(), layer.description());
    }

    /**
     * Reads one layer's blob through {@code extraction} ({@link TarExtraction#extractLayer}), checking the
     * blob's digest.
     *
     * @throws ImageUnpackException if the blob is missing, does not match its digest, or is unsafe or corrupt
     */
    static void apply(LayoutDirectory layout, LayeredImage.Layer layer, String image, TarExtraction extraction) {
        applyChecked(layout, layer, image, extraction);
    }

    private static void applyChecked(
            LayoutDirectory layout, LayeredImage.Layer layer, String image, TarExtraction extraction) {
        try (DigestInputStream in = layout.openDigesting(layer.path(), layer.digest(), layer.description())) {
            try {
                extraction.extractLayer(in, layer.description());
            } catch (ImageUnpackException e) {
                // A tampered blob may break the tar before its end: then the digest is the better reason.
                in.transferTo(OutputStream.nullOutputStream());
                try {
                    layout.checkDigest(
                            layer.digest(), Sha256.hex(in.getMessageDigest()), layer.path(), layer.description());
                } catch (ImageUnpackException mismatch) {
                    mismatch.addSuppressed(e);
                    throw mismatch;
                }
                throw e;
            }
            in.transferTo(OutputStream.nullOutputStream());
            layout.checkDigest(layer.digest(), Sha256.hex(in.getMessageDigest()), layer.path(), layer.description());
        } catch (IOException e) {
            throw new ImageUnpackException(
                    "Image " + image + ": cannot read " + layer.description() + " from '" + layer.path() + "': " + e,
                    e);
        }
    }
}
