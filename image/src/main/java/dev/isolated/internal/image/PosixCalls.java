package dev.isolated.internal.image;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

/**
 * The libc calls unpacking needs and the JDK lacks: {@code mkfifo(3)}, {@code symlink(2)} with the target kept byte for byte ({@code Path} would drop a trailing slash),
 * and {@code geteuid(2)}; and, because the JDK needs two or three system calls for each, {@code lchown(2)}
 * (owner and group at once) and {@code utimensat(2)} (the mtime alone: the JDK first reads the atime back).
 *
 * <p>The calls made once per entry ({@link #symlink}, {@link #lchown}, {@link #setMtime}) are bound by JNA
 * direct mapping, which costs a fraction of a call through a {@link Library} proxy.
 */
final class PosixCalls {

    private PosixCalls() {}

    /** The libc functions, bound on first use. */
    private interface LibC extends Library {

        /** {@code int mkfifo(const char *pathname, mode_t mode)}: creates a FIFO; the mode is masked by the umask. */
        int mkfifo(String pathname, int mode) throws LastErrorException;

        /** {@code uid_t geteuid(void)}: the effective user id; never fails. */
        int geteuid();
    }

    private static final class Holder {
        static final LibC LIBC = Native.load("c", LibC.class);
    }

    /** The per-entry calls, directly mapped; registered on first use. */
    private static final class Direct {

        static {
            Native.register(Direct.class, "c");
        }

        /** {@code int symlink(const char *target, const char *linkpath)}: the target is stored as given. */
        static native int symlink(byte[] target, byte[] linkpath) throws LastErrorException;

        /** {@code int lchown(const char *pathname, uid_t owner, gid_t group)}: never follows a link. */
        static native int lchown(byte[] pathname, int owner, int group) throws LastErrorException;

        /**
         * {@code int utimensat(int dirfd, const char *pathname, const struct timespec times[2], int flags)};
         * {@code times} is {@code {atime s, atime ns, mtime s, mtime ns}} (64-bit {@code time_t} and
         * {@code long}).
         */
        static native int utimensat(int dirfd, byte[] pathname, long[] times, int flags) throws LastErrorException;
    }

    /**
     * {@code s} as a C string: its bytes in JNA's string encoding (what a {@code String} argument is converted to),
     * NUL-terminated. Passed as a {@code byte[]}, which JNA hands to the call without the native copy it makes of a
     * {@code String} (an allocation and a free per call, 290 symlinks and their mtimes for busybox).
     */
    private static byte[] cString(String s) {
        byte[] bytes = s.getBytes(Encoding.CHARSET);
        return java.util.Arrays.copyOf(bytes, bytes.length + 1);
    }

    /** JNA's string encoding, looked up once. */
    private static final class Encoding {
        static final java.nio.charset.Charset CHARSET =
                java.nio.charset.Charset.forName(Native.getDefaultStringEncoding());
    }

    private static final int EEXIST = 17;
    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final long UTIME_OMIT = (1L << 30) - 2;

    /**
     * Creates a FIFO at {@code path}.
     *
     * @throws FileSystemException naming the path and the errno if it fails
     */
    static void mkfifo(Path path, int mode) throws IOException {
        try {
            Holder.LIBC.mkfifo(path.toString(), mode);
        } catch (LastErrorException e) {
            throw failure(path, e, "mkfifo failed: ");
        }
    }

    /**
     * Creates a symlink at {@code link} whose target is exactly {@code target}.
     *
     * @throws FileSystemException naming the path and the errno if it fails
     */
    static void symlink(String target, Path link) throws IOException {
        if (!target.chars().allMatch(c -> c < 0x80)
                && !Encoding.CHARSET.newEncoder().canEncode(target)) {
            // getBytes would store '?' for each such character: a different link than the image's
            throw new InvalidPathException(target, "not representable in " + Encoding.CHARSET);
        }
        try {
            Direct.symlink(cString(target), cString(link.toString()));
        } catch (LastErrorException e) {
            throw failure(link, e, "symlink to '" + target + "' failed: ");
        }
    }

    /**
     * Sets the owner and group of {@code path} itself (a link is not followed) in one call.
     *
     * @throws FileSystemException naming the path and the errno if it fails
     */
    static void lchown(Path path, int uid, int gid) throws IOException {
        try {
            Direct.lchown(cString(path.toString()), uid, gid);
        } catch (LastErrorException e) {
            throw failure(path, e, "lchown to " + uid + ":" + gid + " failed: ");
        }
    }

    /**
     * Sets the mtime of {@code path} itself (a link is not followed), leaving its atime as it is.
     *
     * @throws FileSystemException naming the path and the errno if it fails
     */
    static void setMtime(Path path, FileTime mtime) throws IOException {
        if (Native.LONG_SIZE != 8) { // the timespec layout below assumes a 64-bit time_t and long
            Files.getFileAttributeView(path, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setTimes(mtime, null, null);
            return;
        }
        Instant instant = mtime.toInstant();
        long[] times = {0, UTIME_OMIT, instant.getEpochSecond(), instant.getNano()};
        try {
            Direct.utimensat(AT_FDCWD, cString(path.toString()), times, AT_SYMLINK_NOFOLLOW);
        } catch (LastErrorException e) {
            throw failure(path, e, "setting the mtime failed: ");
        }
    }

    /** An existing path becomes a {@link FileAlreadyExistsException}, so callers can clear it and retry. */
    private static FileSystemException failure(Path path, LastErrorException e, String what) {
        if (e.getErrorCode() == EEXIST) {
            return new FileAlreadyExistsException(path.toString(), null, what + e.getMessage());
        }
        return new FileSystemException(path.toString(), null, what + e.getMessage());
    }

    /** Whether this process runs with effective uid 0, so it may chown to any owner. */
    static boolean isRoot() {
        return Holder.LIBC.geteuid() == 0;
    }
}
