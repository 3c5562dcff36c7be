package dev.isolated.internal.tar;

/**
 * One entry of an image tar. Owner, group and mtime are the same for every entry and are set by the
 * {@link ReproducibleTarWriter}.
 *
 * @param name the tar name: relative, {@code /}-separated, directories ending in {@code /}
 * @param type what the entry is
 * @param mode the permission bits, including set-uid, set-gid and sticky
 * @param linkTarget the target of a symlink, else {@code null}
 * @param content the bytes of a regular file, else an empty array
 */
public record ImageEntry(String name, Type type, int mode, String linkTarget, byte[] content) {

    /** The kinds of entries the images use. */
    public enum Type {
        /** A directory. */
        DIRECTORY,
        /** A regular file. */
        FILE,
        /** A symbolic link. */
        SYMLINK
    }

    /** A directory entry; {@code path} must not end in {@code /}. */
    public static ImageEntry directory(String path, int mode) {
        return new ImageEntry(path + "/", Type.DIRECTORY, mode, null, new byte[0]);
    }

    /** A regular file with the given bytes. */
    public static ImageEntry file(String path, int mode, byte[] content) {
        return new ImageEntry(path, Type.FILE, mode, null, content.clone());
    }

    /** A symlink; its mode is always 0777 as on Linux. */
    public static ImageEntry symlink(String path, String target) {
        return new ImageEntry(path, Type.SYMLINK, 0777, target, new byte[0]);
    }

    /** The path without the trailing {@code /} of directories. */
    public String path() {
        return name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
    }
}
