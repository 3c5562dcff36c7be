package dev.isolated.internal.os;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Calls on open descriptors, so that nothing is looked up again by path between a check and its use. A
 * descriptor is read or listed through {@code /proc/self/fd/<n>}: the kernel jumps from that magic link to the
 * very file the descriptor holds, whatever was renamed or swapped for a symlink meanwhile.
 */
final class Fds {
    static final int S_IFMT = 0170000;
    static final int S_IFREG = 0100000;
    static final int S_IFDIR = 0040000;
    static final int S_IFLNK = 0120000;
    static final int S_IFCHR = 0020000;
    static final int S_IFBLK = 0060000;
    static final int S_IFIFO = 0010000;
    static final int S_IFSOCK = 0140000;

    private Fds() {}

    /** What {@code statx} says of a descriptor (the file itself, a symlink included when opened O_PATH|O_NOFOLLOW). */
    record Stat(int mode, long size, int rdevMajor, int rdevMinor) {
        int type() {
            return mode & S_IFMT;
        }

        boolean isRegular() {
            return type() == S_IFREG;
        }

        boolean isDirectory() {
            return type() == S_IFDIR;
        }

        boolean isSymlink() {
            return type() == S_IFLNK;
        }

        /** An overlayfs whiteout: a character device 0/0, what the upper layer holds for a deleted file. */
        boolean isWhiteout() {
            return type() == S_IFCHR && rdevMajor == 0 && rdevMinor == 0;
        }

        /** @return "a FIFO", "a socket", ... for messages */
        String typeName() {
            return switch (type()) {
                case S_IFREG -> "a regular file";
                case S_IFDIR -> "a directory";
                case S_IFLNK -> "a symlink";
                case S_IFCHR -> "a character device";
                case S_IFBLK -> "a block device";
                case S_IFIFO -> "a FIFO";
                case S_IFSOCK -> "a socket";
                default -> "a file of unknown type " + Integer.toOctalString(type());
            };
        }
    }

    static Stat stat(int fd) throws IOException {
        try (Memory buf = new Memory(256)) {
            buf.clear();
            int flags = LibC.AT_EMPTY_PATH | LibC.AT_SYMLINK_NOFOLLOW;
            long rc;
            try {
                rc = LibC.INSTANCE.statx(fd, "", flags, LibC.STATX_BASIC_STATS, buf);
            } catch (UnsatisfiedLinkError e) { // glibc before 2.28 has no wrapper
                rc = LibC.INSTANCE.syscall(
                        System.getProperty("os.arch").equals("aarch64") ? 291L : 332L,
                        (long) fd,
                        "",
                        (long) flags,
                        (long) LibC.STATX_BASIC_STATS,
                        buf);
            }
            if (rc != 0) {
                throw new IOException("statx of fd " + fd + ": " + strerror(Native.getLastError()));
            }
            return new Stat(buf.getShort(0x1c) & 0xffff, buf.getLong(0x28), buf.getInt(0x80), buf.getInt(0x84));
        }
    }

    /** @return the target of a symlink opened with O_PATH|O_NOFOLLOW */
    static String readlink(int fd) throws IOException {
        byte[] buf = new byte[4097];
        long n = LibC.INSTANCE.readlinkat(fd, "", buf, buf.length);
        if (n < 0) {
            throw new IOException("readlinkat of fd " + fd + ": " + strerror(Native.getLastError()));
        }
        if (n >= buf.length) {
            throw new IOException("readlinkat of fd " + fd + ": the target is longer than 4096 bytes");
        }
        return new String(buf, 0, (int) n, StandardCharsets.UTF_8);
    }

    /**
     * @param max the most names to read (a directory of millions of entries is not read whole)
     * @return the names in a directory (without . and ..), sorted
     */
    static List<String> list(int dirFd, int max) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> children = Files.newDirectoryStream(viaFd(dirFd))) {
            for (Path child : children) {
                if (names.size() >= max) {
                    break;
                }
                names.add(child.getFileName().toString());
            }
        }
        names.sort(null);
        return names;
    }

    /**
     * Copies from a regular file's descriptor (O_PATH will do: it is opened again through /proc/self/fd, which
     * reaches that very file) to {@code out}.
     *
     * @param max the most bytes to copy
     * @return the bytes copied; {@code max + 1} when the file had more than {@code max} (one byte more is read
     *     to tell, and not written)
     */
    static long copy(int regularFd, OutputStream out, long max) throws IOException {
        long copied = 0;
        byte[] buf = new byte[65536];
        try (InputStream in = Channels.newInputStream(reopenForReading(regularFd))) {
            while (copied <= max) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, max + 1 - copied));
                if (n < 0) {
                    break;
                }
                int keep = (int) Math.min(n, max - copied);
                out.write(buf, 0, keep);
                copied += n;
            }
        }
        return Math.min(copied, max + 1);
    }

    /**
     * @param regularFd a regular file's descriptor (O_PATH will do)
     * @return that very file opened again for reading, through /proc/self/fd
     * @throws IOException saying why without the /proc/self/fd path, for the caller to name the file
     */
    static FileChannel reopenForReading(int regularFd) throws IOException {
        try {
            return FileChannel.open(viaFd(regularFd), StandardOpenOption.READ);
        } catch (AccessDeniedException e) { // its message would be the /proc/self/fd path alone
            throw new IOException("Permission denied (it cannot be opened for reading)", e);
        } catch (FileSystemException e) {
            throw new IOException(e.getReason() != null ? e.getReason() : e.toString(), e);
        }
    }

    /** @return an output stream on a regular file the caller created and still holds open */
    static OutputStream output(int fd) throws IOException {
        return Files.newOutputStream(viaFd(fd), StandardOpenOption.WRITE);
    }

    static Path viaFd(int fd) {
        return Paths.get("/proc/self/fd/" + fd);
    }

    static String strerror(int errno) {
        return LibC.INSTANCE.strerror(errno) + " (errno " + errno + ")";
    }

    static void close(int fd) {
        if (fd >= 0) {
            LibC.INSTANCE.close(fd);
        }
    }
}
