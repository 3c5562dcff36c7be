package dev.isolated.internal.image;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * A lock file opened with its own open file description and locked whole with {@code fcntl(F_OFD_SETLK)} (Linux
 * 3.15). Such a lock belongs to the open file description, not to the process: two of them in one JVM exclude each
 * other as locks of two JVMs do, closing another descriptor of the file does not drop it, and it conflicts with the
 * classic {@code fcntl} locks that {@link java.nio.channels.FileChannel#tryLock} takes, in this process and others.
 * {@link CacheLock} uses it in every copy of this library in a JVM but the first (see there).
 */
final class OpenFileDescriptionLock {

    private static final int O_RDWR = 02;
    private static final int O_CREAT = 0100;
    private static final int O_NOFOLLOW = 0400000;
    private static final int O_CLOEXEC = 02000000;
    private static final int F_OFD_SETLK = 37;
    private static final short F_RDLCK = 0;
    private static final short F_WRLCK = 1;
    private static final short F_UNLCK = 2;
    private static final int EACCES = 13;
    private static final int EAGAIN = 11;

    /** The calls, directly mapped; registered on first use. */
    private static final class Direct {

        static {
            Native.register(Direct.class, "c");
        }

        /** {@code int open(const char *pathname, int flags, mode_t mode)}. */
        static native int open(String pathname, int flags, int mode) throws LastErrorException;

        /**
         * {@code int fcntl(int fd, int cmd, struct flock *lock)}; {@code lock} is the 32 bytes of a 64-bit
         * {@code struct flock}: {@code short l_type, l_whence; off_t l_start, l_len; pid_t l_pid}.
         */
        static native int fcntl(int fd, int cmd, long[] lock) throws LastErrorException;

        /** {@code int close(int fd)}. */
        static native int close(int fd) throws LastErrorException;
    }

    private final Path file;
    private int fd;

    private OpenFileDescriptionLock(Path file, int fd) {
        this.file = file;
        this.fd = fd;
    }

    /**
     * Opens {@code file}, creating it (as {@link java.nio.channels.FileChannel#open} does, mode 0666 less the umask)
     * if missing; a symlink is refused.
     *
     * @throws IOException naming the file and the error if it cannot be opened
     */
    static OpenFileDescriptionLock open(Path file) throws IOException {
        if (Native.LONG_SIZE != 8) {
            throw new IOException("Cannot lock " + file + ": the image cache's locks need a 64-bit JVM");
        }
        try {
            return new OpenFileDescriptionLock(
                    file, Direct.open(file.toString(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666));
        } catch (LastErrorException e) {
            throw new IOException("Cannot open the lock file " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * One attempt to lock the whole file, shared or exclusive, without waiting; taking it again converts it.
     *
     * @return whether it was taken; not when another JVM, or another open file description in this one, or a
     *     classic lock of this process holds a conflicting lock
     */
    boolean tryLock(boolean shared) throws IOException {
        try {
            Direct.fcntl(fd, F_OFD_SETLK, flock(shared ? F_RDLCK : F_WRLCK));
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == EAGAIN || e.getErrorCode() == EACCES) {
                return false;
            }
            throw new IOException(
                    "Cannot lock " + file + " (fcntl F_OFD_SETLK, Linux 3.15 or later): " + e.getMessage(), e);
        }
    }

    /** Releases the lock this description holds, if any. */
    void unlock() throws IOException {
        try {
            Direct.fcntl(fd, F_OFD_SETLK, flock(F_UNLCK));
        } catch (LastErrorException e) {
            throw new IOException("Cannot unlock " + file + ": " + e.getMessage(), e);
        }
    }

    /** Closes the descriptor, which releases its lock. */
    void close() throws IOException {
        int open = fd;
        if (open < 0) {
            return;
        }
        fd = -1;
        try {
            Direct.close(open);
        } catch (LastErrorException e) {
            throw new IOException("Cannot close the lock file " + file + ": " + e.getMessage(), e);
        }
    }

    /** A {@code struct flock} for the whole file ({@code SEEK_SET}, start 0, length 0: to the end, however long). */
    private static long[] flock(short type) {
        // l_type and l_whence (SEEK_SET, 0) share the first 8 bytes with 4 of padding
        long first = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? type : (long) type << 48;
        return new long[] {first, 0, 0, 0};
    }
}
