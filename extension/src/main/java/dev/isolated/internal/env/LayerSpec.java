package dev.isolated.internal.env;

import dev.isolated.internal.image.CacheDirectory;
import java.nio.file.Path;
import java.util.List;

/**
 * Where an environment's writable layer lives and which read-only layers lie under it; {@link CreateRequest}
 * writes them as the helper's CREATE fields {@code upper-size=}, {@code upper-dir=} and {@code layer=} (see
 * native/PROTOCOL.md).
 *
 * @param onDisk whether the writable layer is a host directory instead of a tmpfs
 * @param tmpfsSize the tmpfs's size ({@code 50%}, {@code 512m}...), when not on disk; empty when none was chosen,
 *     so the tmpfs gets the kernel's default ({@value #DEFAULT_TMPFS_SIZE}) and an environment without a mount
 *     namespace (no overlay, no tmpfs) can be made
 * @param root the configured directory disk layers (and frozen states) live in
 * @param rootSetting the setting that moves {@code root}, for messages
 * @param layers frozen layers between the image and the writable layer, topmost first
 */
public record LayerSpec(boolean onDisk, String tmpfsSize, Path root, String rootSetting, List<Path> layers) {

    /** The default of {@code isolated.layer.dir}: {@code writable} in the image cache directory (not {@code layers}, the image layer store). */
    public static final String DEFAULT_DIR_NAME = "writable";

    /** The kernel's own default size of a tmpfs, the default of {@code isolated.layer.tmpfsSize}. */
    public static final String DEFAULT_TMPFS_SIZE = "50%";

    /** @return a tmpfs layer of the default size, in the default directory, with no frozen layer */
    static LayerSpec defaults() {
        return new LayerSpec(
                false, "", CacheDirectory.resolve().resolve(DEFAULT_DIR_NAME), "-Disolated.layer.dir", List.of());
    }

    /** Copies the list. */
    public LayerSpec {
        layers = List.copyOf(layers);
    }

    /**
     * Makes the directory of a disk layer, for one environment's CREATE ({@link CreateRequest} names it).
     *
     * @return the disk layer's directory, made here, or {@code null} on a tmpfs
     */
    Path newDiskLayer() {
        return onDisk ? LayerDirectories.in(root, rootSetting).newDiskLayer() : null;
    }
}
