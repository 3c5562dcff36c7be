package dev.isolated.internal.os;

import dev.isolated.IsolatedException;
import dev.isolated.internal.image.ImageSettingsException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The image module's {@link dev.isolated.internal.image.OwnDirectory} (a directory that must be the user's own:
 * the helper's, the image cache, the writable layers' directory) for the extension's own directories, whose
 * failure is an {@link IsolatedException} with the same message.
 */
public final class OwnDirectory {

    private OwnDirectory() {}

    /**
     * @param dir an existing directory
     * @param what what it holds, for the message, e.g. {@code "the isolated helper"}
     * @param setting the setting that moves it, e.g. {@code "-Disolated.helper.dir"}
     * @throws IsolatedException naming the directory, its owner and the setting when it is not the user's own
     * @throws IOException when its attributes cannot be read or changed
     * @see dev.isolated.internal.image.OwnDirectory#require
     */
    public static void require(Path dir, String what, String setting) throws IOException {
        try {
            dev.isolated.internal.image.OwnDirectory.require(dir, what, setting);
        } catch (ImageSettingsException e) {
            throw new IsolatedException(e.getMessage(), e);
        }
    }

    /**
     * @param dir an existing directory, made {@code 0700}
     * @param what what it holds, for the message, e.g. {@code "the image cache"}
     * @param setting the setting that moves it, e.g. {@code "-Disolated.cache.dir"}
     * @throws IsolatedException naming the directory, its owner and the setting when it is not the user's own
     * @throws IOException when its attributes cannot be read or changed
     * @see dev.isolated.internal.image.OwnDirectory#requirePrivate
     */
    public static void requirePrivate(Path dir, String what, String setting) throws IOException {
        try {
            dev.isolated.internal.image.OwnDirectory.requirePrivate(dir, what, setting);
        } catch (ImageSettingsException e) {
            throw new IsolatedException(e.getMessage(), e);
        }
    }

    /**
     * @param dir the directory to create {@code 0700} unless it exists
     * @return {@code dir}
     * @throws IOException when it cannot be created
     * @see dev.isolated.internal.image.OwnDirectory#createPrivate
     */
    public static Path createPrivate(Path dir) throws IOException {
        return dev.isolated.internal.image.OwnDirectory.createPrivate(dir);
    }
}
