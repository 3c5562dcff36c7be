package dev.isolated.image;

import java.nio.file.Path;

/**
 * One path of an image being built.
 *
 * @param kind what it is
 * @param mode its permission bits
 * @param source the host file holding a file's content, or {@code null}
 * @param content a file's content when it has no host file, or {@code null}
 * @param linkTarget a symlink's target, or {@code null}
 * @param inode identifies the host file's inode, so hardlinked files stay hardlinked; or {@code null}
 */
record BuildEntry(Kind kind, int mode, Path source, byte[] content, String linkTarget, Object inode) {

    /** The kinds of entries a built image holds. */
    enum Kind {
        /** A directory. */
        DIRECTORY,
        /** A regular file. */
        FILE,
        /** A symbolic link. */
        SYMLINK,
        /** A named pipe. */
        FIFO
    }

    static BuildEntry directory(int mode) {
        return new BuildEntry(Kind.DIRECTORY, mode, null, null, null, null);
    }

    /** The same entry with another mode. */
    BuildEntry withMode(int newMode) {
        return new BuildEntry(kind, newMode, source, content, linkTarget, inode);
    }
}
