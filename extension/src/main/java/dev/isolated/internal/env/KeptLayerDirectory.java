package dev.isolated.internal.env;

import dev.isolated.IsolatedConfiguration;
import dev.isolated.internal.os.OwnDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.Optional;

/**
 * Where {@link IsolatedConfiguration#KEEP_ON_FAILURE} puts a failed test's writable layer: the directory of
 * {@link IsolatedConfiguration#KEEP_ON_FAILURE_DIR}, else {@code target/isolated-failures} of the working
 * directory, else {@code isolated-failures} in {@code java.io.tmpdir}. Every user can write to that last one's
 * parent, so it is used only as a directory of this user's own, made {@code 0700}: one another user made first
 * could be read (what the tests wrote) or changed (what the report points to) by them.
 *
 * @param path the directory kept layers go to
 * @param inTemporaryDirectory whether it is the fallback in {@code java.io.tmpdir}
 */
public record KeptLayerDirectory(Path path, boolean inTemporaryDirectory) {

    /**
     * @param configured the value of {@link IsolatedConfiguration#KEEP_ON_FAILURE_DIR}, if set
     * @return the directory to use
     */
    public static KeptLayerDirectory of(Optional<String> configured) {
        if (configured.isPresent()) {
            return new KeptLayerDirectory(Paths.get(configured.get()).toAbsolutePath(), false);
        }
        if (Files.isDirectory(Paths.get("target"))) {
            return new KeptLayerDirectory(
                    Paths.get("target", "isolated-failures").toAbsolutePath(), false);
        }
        return new KeptLayerDirectory(
                Paths.get(System.getProperty("java.io.tmpdir"), "isolated-failures")
                        .toAbsolutePath(),
                true);
    }

    /**
     * Makes the fallback in {@code java.io.tmpdir} ready for a kept layer: created {@code 0700} unless it exists,
     * made {@code 0700} when it is this user's; the other directories are created as a kept layer is copied.
     *
     * @throws IOException naming the directory, its owner and {@link IsolatedConfiguration#KEEP_ON_FAILURE_DIR}
     *     when the fallback is not a directory of this user's own
     */
    public void prepare() throws IOException {
        if (!inTemporaryDirectory) {
            return;
        }
        OwnDirectory.createPrivate(path);
        Map<String, Object> attributes = Files.readAttributes(path, "unix:uid,isDirectory", LinkOption.NOFOLLOW_LINKS);
        int owner = (Integer) attributes.get("uid");
        int me = (Integer) Files.getAttribute(Paths.get("/proc/self"), "unix:uid");
        if (!(Boolean) attributes.get("isDirectory") || owner != me) {
            throw new IOException(path + " is "
                    + ((Boolean) attributes.get("isDirectory")
                            ? "owned by uid " + owner + ", not uid " + me
                            : "not a directory (a link or a file)")
                    + ": another user could read or change the layers kept there; set "
                    + IsolatedConfiguration.KEEP_ON_FAILURE_DIR + " to a directory of yours");
        }
        OwnDirectory.requirePrivate(path, "kept writable layers", IsolatedConfiguration.KEEP_ON_FAILURE_DIR);
    }
}
