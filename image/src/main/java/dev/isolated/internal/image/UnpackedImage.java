package dev.isolated.internal.image;

import dev.isolated.image.ImageConfig;
import java.nio.file.Path;

/**
 * An image ready to use: its rootfs directory (to be used read-only) and its run defaults.
 *
 * @param rootfs the unpacked rootfs, or the directory source as it is
 * @param config the image config's run defaults; {@link ImageConfig#EMPTY} for a plain tar or directory
 */
public record UnpackedImage(Path rootfs, ImageConfig config) {}
