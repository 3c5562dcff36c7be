package dev.isolated.internal.image;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * The libc calls unpacking needs and the JDK lacks: {@code mkfifo(3)}, {@code symlink(2)} with the
 * target kept byte for byte ({@code Path} would drop a trailing slash), and {@code geteuid(2)}.
 */
final class PosixCalls {

    private PosixCalls() {
    }

    /** The libc functions, bound on first use. */
    private interface LibC extends Library {

        /** {@code int mkfifo(const char *pathname, mode_t mode)}: creates a FIFO; the mode is masked by the umask. */
        int mkfifo(String pathname, int mode) throws LastErrorException;

        /** {@code int symlink(const char *target, const char *linkpath)}: the target is stored as given. */
        int symlink(String target, String linkpath) throws LastErrorException;

        /** {@code uid_t geteuid(void)}: the effective user id; never fails. */
        int geteuid();
    }

    private static final class Holder {
        static final LibC LIBC = Native.load("c", LibC.class);
    }

    /**
     * Creates a FIFO at {@code path}.
     *
     * @throws FileSystemException naming the path and the errno if it fails
     */
    static void mkfifo(Path path, int mode) throws IOException {
        try {
            Holder.LIBC.mkfifo(path.toString(), mode);
        }
        catch (LastErrorException e) {
            throw new FileSystemException(path.toString(), null, "mkfifo failed: " + e.getMessage());
        }
    }

    /**
     * Creates a symlink at {@code link} whose target is exactly {@code target}.
     *
     * @throws FileSystemException naming the path and the errno if it fails
     */
    static void symlink(String target, Path link) throws IOException {
        try {
            Holder.LIBC.symlink(target, link.toString());
        }
        catch (LastErrorException e) {
            throw new FileSystemException(link.toString(), null, "symlink to '" + target + "' failed: " + e.getMessage());
        }
    }

    /** Whether this process runs with effective uid 0, so it may chown to any owner. */
    static boolean isRoot() {
        return Holder.LIBC.geteuid() == 0;
    }
}
