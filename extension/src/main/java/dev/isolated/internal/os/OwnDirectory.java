package dev.isolated.internal.os;

import dev.isolated.IsolatedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/**
 * A directory whose contents the tests run with their privileges (often root): the helper executable, the
 * unpacked images. It must belong to the user running the tests, or another user could swap what is in it;
 * group/other write permission (a umask of 002) is taken away, as the user owns it.
 */
public final class OwnDirectory {
    private OwnDirectory() {
    }

    /**
     * @param dir an existing directory
     * @param what what it holds, for the message, e.g. {@code "the isolated helper"}
     * @param setting the setting that moves it, e.g. {@code "-Disolated.helper.dir"}
     * @throws IsolatedException naming the directory, its owner and the setting when it is not the user's own
     * @throws IOException when its attributes cannot be read or changed
     */
    public static void require(Path dir, String what, String setting) throws IOException {
        PosixFileAttributes attributes = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int me = (Integer) Files.getAttribute(Paths.get("/proc/self"), "unix:uid"); // our effective uid
        if (!attributes.isDirectory() || owner != me) {
            throw new IsolatedException("The directory of " + what + ", " + dir + ", is "
                    + (attributes.isDirectory() ? "owned by uid " + owner : "not a directory")
                    + ": another user could replace what is in it before it runs. Use a directory of uid " + me
                    + ": set " + setting + "=<a directory of yours>.");
        }
        Set<PosixFilePermission> perms = EnumSet.copyOf(attributes.permissions());
        if (perms.removeAll(EnumSet.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE))) {
            Files.setPosixFilePermissions(dir, perms);
        }
    }
}
