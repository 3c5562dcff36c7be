package dev.isolated.internal.env;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;

/**
 * An image's {@code WorkingDir} that its rootfs lacks is made when the environment is created, as Docker and podman
 * make it when a container starts: {@code mkdir -p} by the helper's WRITE, as the environment's root, mode
 * {@code 0755}. Only the image's:
 * a working directory given to the environment or to a command is entered as it is (exit code 125 when missing),
 * and a read-only rootfs is left as it is.
 *
 * <p>Real images almost always hold their {@code WorkingDir}, so it is first looked for on the host, in the
 * unpacked image (or in the topmost frozen layer, which hides what lies under it), every component a directory and
 * not a symlink; only when it is not found there, or lies on a mount of the environment ({@code /tmp}, {@code /dev},
 * {@code /proc}, a bind or tmpfs), is the environment asked, since a symlink, a frozen layer's whiteout or a mount
 * may make the answer inside differ.
 */
final class ImageWorkingDirectory {
    /** What the helper mounts in every environment with a mount namespace, over the image's directories. */
    private static final List<String> HELPER_MOUNTS = List.of("/tmp", "/dev", "/proc");

    private ImageWorkingDirectory() {}

    /**
     * Whether the environment may lack the image's working directory and must be looked at: false when it is not
     * the image's, when the rootfs is read-only or when the host finds it in the top layer.
     *
     * @param spec the environment
     * @param layers its frozen layers ({@code null}: none)
     */
    static boolean mayBeMissing(EnvironmentSpec spec, LayerSpec layers) {
        if (!spec.workingDirectoryFromImage() || spec.readOnlyRootfs()) {
            return false;
        }
        String dir = spec.workingDirectory();
        for (String mount : HELPER_MOUNTS) {
            if (isAtOrBelow(dir, mount)) {
                return true;
            }
        }
        for (ExtraMount mount : spec.mounts()) { // not a stream: on the first test's path
            if (isAtOrBelow(dir, mount.target())) {
                return true;
            }
        }
        List<Path> frozen = layers == null ? List.of() : layers.layers();
        return !isDirectoryIn(frozen.isEmpty() ? spec.rootfs() : frozen.get(0), dir);
    }

    /** Whether DIR is MOUNT or below it, both absolute, compared by component. */
    private static boolean isAtOrBelow(String dir, String mount) {
        String m = mount.endsWith("/") ? mount : mount + "/";
        return (dir.endsWith("/") ? dir : dir + "/").startsWith(m);
    }

    /**
     * Makes the directory in the environment when nothing is there (something that is not a directory is left, so
     * that commands report it with exit code 125, as they do for a missing one under a read-only rootfs).
     *
     * @param files the environment's files
     * @param dir the image's working directory
     */
    static void makeIfMissing(EnvironmentFiles files, String dir) {
        if (!files.exists(dir)) {
            files.makeDirectories(dir);
        }
    }

    /** Whether DIR (absolute) is a directory below ROOT on the host, no component a symlink, without following any. */
    static boolean isDirectoryIn(Path root, String dir) {
        Path at = root;
        for (String name : dir.split("/")) {
            if (name.isEmpty()) {
                continue;
            }
            if (name.equals(".") || name.equals("..")) {
                return false; // resolved inside the environment, not here
            }
            at = at.resolve(name);
            try {
                BasicFileAttributes attrs =
                        Files.readAttributes(at, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!attrs.isDirectory()) {
                    return false;
                }
            } catch (IOException e) {
                return false; // absent, or cannot tell here: the environment is asked
            }
        }
        return true;
    }
}
