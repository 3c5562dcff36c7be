package dev.isolated.internal.image;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * The libc calls unpacking needs and the JDK lacks: {@code mkfifo(3)}, {@code mknod(2)} (device nodes, as
 * root), {@code symlink(2)} with the target kept byte for byte ({@code Path} would drop a trailing slash),
 * and {@code geteuid(2)}.
 */
final class PosixCalls {

    private PosixCalls() {
    }

    /** The libc functions, bound on first use. */
    private interface LibC extends Library {

        /** {@code int mkfifo(const char *pathname, mode_t mode)}: creates a FIFO; the mode is masked by the umask. */
        int mkfifo(String pathname, int mode) throws LastErrorException;

        /** {@code int mknod(const char *pathname, mode_t mode, dev_t dev)}: mode carries S_IFCHR or S_IFBLK. */
        int mknod(String pathname, int mode, long dev) throws LastErrorException;

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

    static final int S_IFCHR = 0020000;
    static final int S_IFBLK = 0060000;

    /**
     * Creates a character or block device node (needs real root: CAP_MKNOD in the initial user namespace).
     *
     * @param type {@link #S_IFCHR} or {@link #S_IFBLK}
     * @throws FileSystemException naming the path and the errno if it fails
     */
    static void mknod(Path path, int type, int mode, long major, long minor) throws IOException {
        // glibc's makedev(): the 64-bit dev_t layout
        long dev = ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8) | ((minor & 0xffffff00L) << 12)
                | (minor & 0xffL);
        try {
            Holder.LIBC.mknod(path.toString(), type | (mode & 07777), dev);
        }
        catch (LastErrorException e) {
            throw new FileSystemException(path.toString(), null, "mknod " + major + ":" + minor + " failed: "
                    + e.getMessage());
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
