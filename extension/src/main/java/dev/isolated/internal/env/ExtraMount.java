package dev.isolated.internal.env;

/**
 * A mount an environment gets on top of its rootfs: a bind of a host path, or a tmpfs.
 *
 * @param kind what it is
 * @param source the host path of a bind; empty for a tmpfs
 * @param target where it appears inside the environment (absolute)
 * @param readOnly whether a bind is read-only
 * @param sizeBytes the size limit of a tmpfs, 0 for the kernel's default
 */
public record ExtraMount(Kind kind, String source, String target, boolean readOnly, long sizeBytes) {

    /** The kinds of mount. */
    public enum Kind {
        /** A host file or directory. */
        BIND,
        /** A fresh tmpfs. */
        TMPFS
    }

    /** Validates. */
    public ExtraMount {
        if (!target.startsWith("/")) {
            throw new IllegalArgumentException(
                    "A mount target must be an absolute path inside the environment: " + target);
        }
    }
}
