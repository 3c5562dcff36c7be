package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import org.apiguardian.api.API;

/**
 * Where an environment's writable layer (everything its commands write to the root filesystem, the overlay's
 * upper directory; not {@code /tmp} and {@code /dev/shm}, tmpfs mounts of their own) lives. See
 * {@link WritableLayer}.
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public enum LayerStorage {
    /** What {@value IsolatedConfiguration#LAYER_STORAGE} says; {@link #TMPFS} when it is not set. */
    DEFAULT,
    /**
     * A tmpfs of the environment's own, of {@value IsolatedConfiguration#LAYER_TMPFS_SIZE} (default {@code 50%} of
     * RAM): fast, but its pages are shared memory, never reclaimable while the environment lives, and counted
     * against the environment's memory limit.
     */
    TMPFS,
    /**
     * A directory of its own in {@value IsolatedConfiguration#LAYER_DIR} ({@code 0700}, removed when the
     * environment closes): holds more than RAM, its pages are ordinary page cache the kernel may write back and
     * reclaim; the first write of a file is slower. The directory's filesystem must have extended attributes
     * (ext4, xfs, btrfs; tmpfs since Linux 6.6).
     */
    DISK
}
