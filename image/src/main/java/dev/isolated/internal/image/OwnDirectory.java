package dev.isolated.internal.image;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * A directory whose contents the tests run with their privileges (often root): the helper executable, the
 * unpacked images. It must belong to the user running the tests, or another user could swap what is in it;
 * group/other write permission (a umask of 002) is taken away, as the user owns it. A private directory (the
 * image cache, which holds images' set-uid files) is made {@code 0700}, so no other user can reach into it.
 */
public final class OwnDirectory {

    /** {@code 0700}: only the owner may list, enter or change it. */
    public static final int PRIVATE_MODE = 0700;

    private OwnDirectory() {}

    /**
     * @param dir an existing directory
     * @param what what it holds, for the message, e.g. {@code "the isolated helper"}
     * @param setting the setting that moves it, e.g. {@code "-Disolated.helper.dir"}
     * @throws ImageSettingsException naming the directory, its owner and the setting when it is not the user's own
     * @throws IOException when its attributes cannot be read or changed
     */
    public static void require(Path dir, String what, String setting) throws IOException {
        PosixFileAttributes attributes =
                Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        requireOwn(dir, attributes.isDirectory(), owner, what, setting);
        Set<PosixFilePermission> perms = EnumSet.copyOf(attributes.permissions());
        if (perms.removeAll(EnumSet.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE))) {
            Files.setPosixFilePermissions(dir, perms);
        }
    }

    /**
     * Like {@link #require}, and the directory's mode becomes exactly {@link #PRIVATE_MODE} (whatever it was,
     * e.g. {@code 0755} as made by an older version or a umask of 022), through a descriptor opened without
     * following links.
     *
     * @param dir an existing directory
     * @param what what it holds, for the message, e.g. {@code "the image cache"}
     * @param setting the setting that moves it, e.g. {@code "-Disolated.cache.dir"}
     * @throws ImageSettingsException naming the directory, its owner and the setting when it is not the user's own
     * @throws IOException when its attributes cannot be read or changed
     */
    public static void requirePrivate(Path dir, String what, String setting) throws IOException {
        Map<String, Object> attributes =
                Files.readAttributes(dir, "unix:mode,uid,isDirectory", LinkOption.NOFOLLOW_LINKS);
        requireOwn(dir, (Boolean) attributes.get("isDirectory"), (Integer) attributes.get("uid"), what, setting);
        makePrivate(dir, (Integer) attributes.get("mode"));
    }

    /**
     * Creates {@code dir} with mode {@link #PRIVATE_MODE} unless it exists (its missing parents as
     * {@link Files#createDirectories} does). It is never more open than that, whatever the umask: {@code mkdir(2)}
     * gets {@code 0700}, which the umask can only narrow; the exact mode is then set through a descriptor.
     * An existing {@code dir} is left as it is: check it with {@link #requirePrivate}.
     *
     * @return {@code dir}
     */
    public static Path createPrivate(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try {
            Files.createDirectory(
                    dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException e) {
            return dir;
        }
        makePrivate(dir, -1);
        return dir;
    }

    /** Sets the mode of {@code dir} to {@link #PRIVATE_MODE} with {@code fchmod(2)} unless {@code mode} is that. */
    private static void makePrivate(Path dir, int mode) throws IOException {
        if ((mode & 07777) != PRIVATE_MODE) {
            // NOFOLLOW_LINKS: the JDK opens dir with O_NOFOLLOW and calls fchmod, so a link put there fails (ELOOP).
            Files.setAttribute(dir, "unix:mode", PRIVATE_MODE, LinkOption.NOFOLLOW_LINKS);
        }
    }

    private static void requireOwn(Path dir, boolean isDirectory, int owner, String what, String setting)
            throws IOException {
        int me = (Integer) Files.getAttribute(Paths.get("/proc/self"), "unix:uid"); // our effective uid
        if (!isDirectory || owner != me) {
            throw new ImageSettingsException("The directory of " + what + ", " + dir + ", is "
                    + (isDirectory ? "owned by uid " + owner : "not a directory")
                    + ": another user could replace what is in it before it runs. Use a directory of uid " + me
                    + ": set " + setting + "=<a directory of yours>.");
        }
    }
}
