package dev.isolated.internal.os;

import com.sun.jna.Native;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Copies a file, symlink or directory tree from descriptors to a {@link HostDirectory}. Every entry is opened
 * relative to its parent's descriptor with {@code O_PATH|O_NOFOLLOW} and looked at with {@code statx} on that
 * descriptor, then read through it: a directory swapped for a symlink between listing and opening is seen as
 * the symlink it then is and copied as one; nothing is looked up by path, no symlink is followed, and no FIFO,
 * socket or device is ever opened.
 */
public final class TreeCopy {
    /**
     * The most bytes read of one file whose size says 0 (files of {@code /proc} and the like), and the most
     * {@code readString} reads of any file: 64 MiB.
     */
    public static final long READ_LIMIT = 64L << 20;

    /**
     * The bounds of a copy, and what becomes of what it leaves out.
     *
     * @param maxFileBytes a regular file larger than this is not copied
     * @param maxTotalBytes once the copy holds this much, no more files are copied
     * @param maxEntries after so many entries, the copy stops
     * @param maxDepth directories deeper than this are not copied
     * @param markers whether what is left out (or cannot be read) gets a {@code <name>.skipped} file saying
     *     why, and overlayfs whiteouts a {@code <name>.deleted} file (for kept writable layers); without markers,
     *     FIFOs, sockets and devices are left out silently, and a too deep tree or an unreadable file fails the
     *     copy
     */
    public record Limits(long maxFileBytes, long maxTotalBytes, int maxEntries, int maxDepth, boolean markers) {}

    /** {@code copyOut}: every file as large as it was when opened, trees up to 256 levels deep. */
    public static final Limits COPY_OUT = new Limits(Long.MAX_VALUE, Long.MAX_VALUE, Integer.MAX_VALUE, 256, false);

    /** A kept writable layer: files up to 64 MiB, 1 GiB and 100,000 entries in all, 128 levels deep. */
    public static final Limits KEEP = new Limits(64L << 20, 1L << 30, 100_000, 128, true);

    public static final String SKIPPED_SUFFIX = ".skipped";
    public static final String DELETED_SUFFIX = ".deleted";

    private final Limits limits;
    private long bytes;
    private int entries;
    private boolean stoppedEarly;
    private final List<String> leftOut = new ArrayList<>();

    public TreeCopy(Limits limits) {
        this.limits = limits;
    }

    /**
     * Copies one entry and, when it is a directory, everything below it.
     *
     * @param sourceFd the entry, opened with {@code O_PATH|O_NOFOLLOW}
     * @param sourcePath its path, for messages only
     * @param to where to make it
     * @param name its name there, which must not exist
     * @throws java.nio.file.FileAlreadyExistsException when something already has that name
     * @throws IOException naming the path that failed
     */
    public void copy(int sourceFd, String sourcePath, HostDirectory to, String name) throws IOException {
        copy(sourceFd, sourcePath, to, name, 0);
    }

    /**
     * Copies what is in a directory into a host directory.
     *
     * @param sourceDirFd the directory, opened with {@code O_DIRECTORY} (or {@code O_PATH})
     * @param sourcePath its path, for messages only
     * @param to the host directory
     */
    public void copyChildren(int sourceDirFd, String sourcePath, HostDirectory to) throws IOException {
        copyChildren(sourceDirFd, sourcePath, to, 0);
    }

    /**
     * Copies what is in a directory, opened once by {@code path} (which may be a magic link such as
     * {@code /proc/<pid>/fd/<n>}: it is followed, to the directory that descriptor holds), into a host directory.
     *
     * @param sourcePath its name, for messages only
     */
    public void copyChildren(Path dir, String sourcePath, HostDirectory to) throws IOException {
        int fd = LibC.INSTANCE.open(dir.toString(), LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw new IOException("open " + dir + " (" + sourcePath + "): " + Fds.strerror(Native.getLastError()));
        }
        try {
            copyChildren(fd, sourcePath, to, 0);
        } finally {
            Fds.close(fd);
        }
    }

    /** @return what was left out, each as "path (why)" */
    public List<String> leftOut() {
        return leftOut;
    }

    /** @return whether the copy stopped at {@link Limits#maxEntries()} */
    public boolean stoppedEarly() {
        return stoppedEarly;
    }

    private void copy(int fd, String path, HostDirectory to, String name, int depth) throws IOException {
        Fds.Stat st = Fds.stat(fd);
        try {
            if (st.isSymlink()) {
                to.symlink(name, Fds.readlink(fd));
            } else if (st.isDirectory()) {
                if (depth >= limits.maxDepth()) {
                    if (!limits.markers()) {
                        throw new IOException(path + " is deeper than " + limits.maxDepth() + " directories");
                    }
                    leaveOut(to, name, path, "a directory deeper than " + limits.maxDepth() + " levels");
                    return;
                }
                try (HostDirectory sub = to.mkdir(name)) {
                    copyChildren(fd, path, sub, depth + 1);
                }
            } else if (st.isRegular()) {
                copyFile(fd, st, path, to, name);
            } else if (limits.markers() && st.isWhiteout()) {
                Fds.close(to.createFile(name + DELETED_SUFFIX, 0644));
            } else {
                leaveOut(to, name, path, st.typeName() + ", not opened");
            }
        } catch (FileAlreadyExistsException e) {
            if (!limits.markers() || depth == 0) {
                throw e;
            }
            // a marker of an earlier entry took the name (x.deleted next to x): what the layer holds is left out
            leftOut.add(path + " (its name was taken by a marker)");
        } catch (IOException e) {
            if (!limits.markers()) {
                throw e;
            }
            // e.g. a file the test made unreadable (chmod 000, as the JVM's own user when rootless): the rest is
            // still worth keeping; a failure on the host's side fails the marker too, and so the copy
            leaveOut(to, name, path, "not readable: " + e.getMessage());
        }
    }

    private void copyFile(int fd, Fds.Stat st, String path, HostDirectory to, String name) throws IOException {
        if (st.size() > limits.maxFileBytes()) {
            leaveOut(to, name, path, "larger than " + mib(limits.maxFileBytes()) + " (" + st.size() + " bytes)");
            return;
        }
        long room = limits.maxTotalBytes() - bytes;
        if (st.size() > room) {
            leaveOut(to, name, path, st.size() + " bytes, beyond the copy's bound of " + mib(limits.maxTotalBytes()));
            return;
        }
        // A file is copied as large as it was when opened (it may grow meanwhile); one whose size says 0 (/proc)
        // up to READ_LIMIT.
        long max = Math.min(st.size() > 0 ? st.size() : READ_LIMIT, room);
        int out = to.createFile(name, (st.mode() & 0111) != 0 ? 0755 : 0644);
        try (OutputStream stream = Fds.output(out)) {
            bytes += Math.min(Fds.copy(fd, stream, max), max);
        } finally {
            Fds.close(out);
        }
    }

    private void copyChildren(int dirFd, String path, HostDirectory to, int depth) throws IOException {
        int room = limits.maxEntries() - entries;
        for (String name : Fds.list(dirFd, room == Integer.MAX_VALUE ? room : room + 1)) {
            if (entries >= limits.maxEntries()) {
                stoppedEarly = true;
                return;
            }
            entries++;
            String childPath = path.endsWith("/") ? path + name : path + "/" + name;
            int child = LibC.INSTANCE.openat(dirFd, name, LibC.O_PATH | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
            if (child < 0) {
                int errno = Native.getLastError();
                if (errno == 2) { // removed since it was listed
                    continue;
                }
                throw new IOException("openat " + childPath + ": " + Fds.strerror(errno));
            }
            try {
                copy(child, childPath, to, name, depth);
            } finally {
                Fds.close(child);
            }
        }
    }

    private void leaveOut(HostDirectory to, String name, String path, String why) throws IOException {
        leftOut.add(path + " (" + why + ")");
        if (limits.markers()) {
            int marker;
            try {
                marker = to.createFile(name + SKIPPED_SUFFIX, 0644);
            } catch (FileAlreadyExistsException e) {
                return;
            }
            try (OutputStream stream = Fds.output(marker)) {
                stream.write((why + "\n").getBytes(StandardCharsets.UTF_8));
            } finally {
                Fds.close(marker);
            }
        }
    }

    private static String mib(long bytes) {
        if (bytes < 1L << 20) {
            return bytes + " bytes";
        }
        return bytes >= 1L << 30 && bytes % (1L << 30) == 0 ? (bytes >> 30) + " GiB" : (bytes >> 20) + " MiB";
    }
}
