package dev.isolated.internal.os;

import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Removes a host directory tree through descriptors: every entry is opened relative to its parent with
 * {@code O_PATH|O_NOFOLLOW}, looked at with {@code statx} on that descriptor and unlinked relative to the parent, so
 * a symlink anywhere in the tree (planted by a test in its writable layer) is removed as a link and never
 * followed. A directory the owner cannot list (mode {@code 000}, as overlayfs makes its {@code work/work}) is made
 * {@code 0700} through its own descriptor first.
 */
public final class TreeRemoval {
    private static final int AT_REMOVEDIR = 0x200;
    private static final int ENOENT = 2;
    private static final int MAX_DEPTH = 4096;

    private TreeRemoval() {}

    /**
     * Removes {@code dir} and everything below it; nothing when it does not exist. Its parent (the caller's own
     * directory) is opened by path; from there on nothing is looked up by path.
     *
     * @throws IOException naming the entry that could not be removed
     */
    public static void remove(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath();
        try (HostDirectory parent = HostDirectory.open(absolute.getParent())) {
            removeEntry(parent.fd(), absolute.getFileName().toString(), absolute.toString(), 0);
        }
    }

    private static void removeEntry(int parentFd, String name, String path, int depth) throws IOException {
        int fd = LibC.INSTANCE.openat(parentFd, name, LibC.O_PATH | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            int errno = Native.getLastError();
            if (errno == ENOENT) {
                return;
            }
            throw new IOException("openat " + path + ": " + Fds.strerror(errno));
        }
        boolean directory;
        try {
            Fds.Stat st = Fds.stat(fd);
            directory = st.isDirectory();
            if (directory && (st.mode() & 0700) != 0700) {
                // not listable or searchable by its owner (rootless; overlayfs's work/work is 000): made 0700
                // through the descriptor, whose magic link reaches that very directory
                Files.setPosixFilePermissions(Fds.viaFd(fd), PosixFilePermissions.fromString("rwx------"));
            }
            if (directory) {
                if (depth >= MAX_DEPTH) {
                    throw new IOException(path + " is deeper than " + MAX_DEPTH + " directories");
                }
                removeChildren(fd, path, depth);
            }
        } finally {
            Fds.close(fd);
        }
        if (LibC.INSTANCE.unlinkat(parentFd, name, directory ? AT_REMOVEDIR : 0) != 0) {
            int errno = Native.getLastError();
            if (errno != ENOENT) {
                throw new IOException("unlinkat " + path + ": " + Fds.strerror(errno));
            }
        }
    }

    private static void removeChildren(int dirFd, String path, int depth) throws IOException {
        String self = Fds.viaFd(dirFd).toString(); // the magic link reaches that very directory
        int dir = LibC.INSTANCE.open(self, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
        if (dir < 0) {
            throw new IOException("open " + path + ": " + Fds.strerror(Native.getLastError()));
        }
        try {
            for (String child : Fds.list(dir, Integer.MAX_VALUE)) {
                removeEntry(dir, child, path + "/" + child, depth + 1);
            }
        } finally {
            Fds.close(dir);
        }
    }
}
