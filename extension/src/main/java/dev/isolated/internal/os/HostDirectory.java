package dev.isolated.internal.os;

import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;

/**
 * A host directory held open by a descriptor, to make files in: each one is made relative to it, created with
 * {@code O_CREAT|O_EXCL|O_NOFOLLOW} (or {@code mkdirat}/{@code symlinkat}, which never replace anything
 * either), so an existing file is never replaced and a symlink at the name, planted by anyone at any moment,
 * is never followed.
 */
public final class HostDirectory implements AutoCloseable {
    private final int fd;
    private final Path path;

    private HostDirectory(int fd, Path path) {
        this.fd = fd;
        this.path = path;
    }

    /**
     * @param dir an existing host directory (symlinks on the way to it are the caller's own and are followed)
     * @return it, held open
     * @throws IOException naming it when it cannot be opened as a directory
     */
    public static HostDirectory open(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath();
        int fd = LibC.INSTANCE.open(absolute.toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw new IOException("open " + absolute + ": " + Fds.strerror(Native.getLastError()));
        }
        return new HostDirectory(fd, absolute);
    }

    int fd() {
        return fd;
    }

    Path path() {
        return path;
    }

    Path resolve(String name) {
        return path.resolve(name);
    }

    /** @return whether anything (a dangling symlink included) has that name */
    boolean has(String name) throws IOException {
        int child = LibC.INSTANCE.openat(fd, name, LibC.O_PATH | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
        if (child >= 0) {
            Fds.close(child);
            return true;
        }
        int errno = Native.getLastError();
        if (errno == 2) {
            return false;
        }
        throw failure("openat", name, errno);
    }

    /**
     * Makes a new directory (mode 0755 less the umask) and opens it.
     *
     * @throws java.nio.file.FileAlreadyExistsException when something has that name
     */
    public HostDirectory mkdir(String name) throws IOException {
        if (LibC.INSTANCE.mkdirat(fd, name, 0755) != 0) {
            throw failure("mkdirat", name, Native.getLastError());
        }
        int child =
                LibC.INSTANCE.openat(fd, name, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
        if (child < 0) {
            throw failure("openat", name, Native.getLastError());
        }
        return new HostDirectory(child, resolve(name));
    }

    /** @return the descriptor of a new, empty regular file, open for writing; the caller closes it */
    int createFile(String name, int mode) throws IOException {
        int file = LibC.INSTANCE.openat(
                fd, name, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, mode);
        if (file < 0) {
            throw failure("openat", name, Native.getLastError());
        }
        return file;
    }

    void symlink(String name, String target) throws IOException {
        if (LibC.INSTANCE.symlinkat(target, fd, name) != 0) {
            throw failure("symlinkat", name, Native.getLastError());
        }
    }

    private IOException failure(String syscall, String name, int errno) {
        Path what = resolve(name);
        if (errno == 17) { // EEXIST
            return new FileAlreadyExistsException(what.toString(), null, "already exists");
        }
        return new IOException(syscall + " " + what + ": " + Fds.strerror(errno));
    }

    @Override
    public void close() {
        Fds.close(fd);
    }
}
