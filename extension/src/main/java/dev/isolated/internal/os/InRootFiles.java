package dev.isolated.internal.os;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Reads and writes files inside an environment from the JVM, through the environment's root as seen by its
 * init ({@code /proc/<pid>/root}). Every path is resolved with {@code openat2(RESOLVE_IN_ROOT)}, so
 * symlinks in the environment (even {@code /etc -> /}) resolve inside it and never reach the host's files;
 * where openat2 is missing, by a walk that does the same with {@code O_NOFOLLOW} one component at a time.
 * It only reads: the environment's files are written by the helper, as the environment's root (its WRITE).
 */
public final class InRootFiles implements AutoCloseable {
    private static final int ENOTDIR = 20;
    private static final int ENOSYS = 38;
    private static final int ELOOP = 40;
    private static final int MAX_SYMLINKS = 40;

    /** Set once openat2 fails with ENOSYS (kernels before 5.6, seccomp profiles that lack it): then paths are walked. */
    private static volatile boolean openat2Missing;

    private final int rootFd;
    private final String description;
    private final boolean walk;

    private InRootFiles(int rootFd, String description, boolean walk) {
        this.rootFd = rootFd;
        this.description = description;
        this.walk = walk;
    }

    /**
     * For tests: a directory as the root.
     *
     * @param walk whether to resolve paths with the component walk that stands in for openat2 where it is missing
     */
    static InRootFiles ofDirectory(Path root, boolean walk) throws IOException {
        int fd = LibC.INSTANCE.open(root.toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw error("open", root.toString(), Native.getLastError());
        }
        return new InRootFiles(fd, root.toString(), walk);
    }

    /**
     * @param initHostPid the host pid of a process whose root is the environment's root
     * @return a handle on that root
     * @throws IOException when the root cannot be opened (the process is gone, or no permission)
     */
    public static InRootFiles ofProcess(long initHostPid) throws IOException {
        String root = "/proc/" + initHostPid + "/root";
        int fd = LibC.INSTANCE.open(root, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw error("open", root, Native.getLastError());
        }
        return new InRootFiles(fd, "the environment of host pid " + initHostPid, false);
    }

    /**
     * Reads a regular file. The path is opened with {@code O_PATH} (symlinks resolve inside the root) and looked
     * at through that descriptor before anything is read, so a FIFO, socket, device or directory is refused
     * without ever being opened for reading (a FIFO would block, {@code /dev/zero} never ends).
     *
     * @param path an absolute path inside the environment
     * @return the file's bytes
     * @throws NoSuchFileException when there is no such file
     * @throws IOException naming the path when it cannot be read, is not a regular file or is larger than
     *     {@link TreeCopy#READ_LIMIT}
     */
    public byte[] read(String path) throws IOException {
        return read(path, 0);
    }

    /**
     * As {@link #read(String)}, but a symlink at {@code path} itself is not followed: it is refused as not a
     * regular file (symlinks in the directories above still resolve inside the environment).
     *
     * @param path an absolute path inside the environment
     * @return the file's bytes
     * @throws NoSuchFileException when there is no such file
     * @throws IOException naming the path when it cannot be read, is a symlink or anything but a regular file
     */
    public byte[] readNoFollow(String path) throws IOException {
        return read(path, LibC.O_NOFOLLOW);
    }

    private byte[] read(String path, int extraFlags) throws IOException {
        int fd = openInRoot(path, LibC.O_PATH | LibC.O_CLOEXEC | extraFlags, 0);
        try {
            Fds.Stat st = Fds.stat(fd);
            if (!st.isRegular()) {
                throw new IOException(
                        inRoot(path) + " is " + st.typeName() + ", not a regular file; only regular files are read");
            }
            if (st.size() > TreeCopy.READ_LIMIT) {
                throw tooLarge(path);
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream((int) st.size());
            if (Fds.copy(fd, bytes, TreeCopy.READ_LIMIT) > TreeCopy.READ_LIMIT) {
                throw tooLarge(path); // it grew, or its size said 0 (/proc)
            }
            return bytes.toByteArray();
        } finally {
            LibC.INSTANCE.close(fd);
        }
    }

    private IOException tooLarge(String path) {
        return new IOException(inRoot(path) + " is larger than 64 MiB, the most readString reads; copy it to the "
                + "host with copyOut instead");
    }

    /**
     * @param path an absolute path inside the environment
     * @return whether it exists (a dangling symlink counts)
     * @throws java.io.UncheckedIOException when the lookup fails for another reason than absence
     */
    public boolean exists(String path) {
        try {
            LibC.INSTANCE.close(openInRoot(path, LibC.O_PATH | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0));
            return true;
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Copies a file, directory tree or symlink out of the environment to the host (see {@link TreeCopy}): the
     * source's last component is not followed (a symlink is copied as a symlink), and nothing below it is
     * looked up by path; the host target is created with {@code O_CREAT|O_EXCL|O_NOFOLLOW} (or
     * {@code mkdirat}/{@code symlinkat}) in its parent directory, so nothing on the host is ever replaced and no
     * symlink there is followed. FIFOs, sockets and devices inside a directory are left out; as the source
     * itself they are refused.
     *
     * @param source an absolute path inside the environment
     * @param target a host path that does not exist yet, in an existing directory
     * @throws java.nio.file.FileAlreadyExistsException when the target exists
     * @throws IOException naming the path that failed
     */
    public void copyOut(String source, Path target) throws IOException {
        Path absolute = target.toAbsolutePath(); // not normalised: "link/.." means what the kernel says
        if (absolute.getParent() == null) {
            throw exists(absolute);
        }
        int fd = openInRoot(source, LibC.O_PATH | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
        try {
            Fds.Stat st = Fds.stat(fd);
            copyOutTo(
                    absolute,
                    refusal(inRoot(source), st),
                    (parent, name) -> new TreeCopy(TreeCopy.COPY_OUT).copy(fd, source, parent, name));
        } finally {
            LibC.INSTANCE.close(fd);
        }
    }

    /** Makes {@code name} in {@code parent}, a host directory. */
    interface HostCopy {
        void copy(HostDirectory parent, String name) throws IOException;
    }

    /** @return why copyOut refuses a source of that type (named {@code where}), null when it copies it */
    static String refusal(String where, Fds.Stat st) {
        return st.isRegular() || st.isDirectory() || st.isSymlink()
                ? null
                : where + " is " + st.typeName() + "; copyOut copies regular files, directories and symlinks only";
    }

    /**
     * copyOut's host side: {@code target} (absolute, not "/") must not exist; then {@code copy} makes it.
     *
     * @param refusal why the source is not copied, else null
     */
    static void copyOutTo(Path target, String refusal, HostCopy copy) throws IOException {
        try (HostDirectory parent = HostDirectory.open(target.getParent())) {
            String name = target.getFileName().toString();
            if (parent.has(name)) {
                throw exists(target);
            }
            if (refusal != null) {
                throw new IOException(refusal);
            }
            try {
                copy.copy(parent, name);
            } catch (FileAlreadyExistsException e) {
                if (target.toString().equals(e.getFile())) {
                    throw exists(target); // made meanwhile
                }
                throw e;
            }
        }
    }

    static FileAlreadyExistsException exists(Path target) {
        return new FileAlreadyExistsException(
                target.toString(),
                null,
                "it already exists on the host; copyOut never replaces anything there: delete it first or choose a "
                        + "path that does not exist") {
            @Override
            public String getMessage() { // the caller's message names the target already
                return getReason();
            }
        };
    }

    private int openInRoot(String path, int flags, int mode) throws IOException {
        String normal = normalise(path);
        if (walk || openat2Missing) {
            return walkInRoot(path, flags, mode);
        }
        try (Memory how = new Memory(24)) {
            how.setLong(0, flags & 0xffffffffL);
            how.setLong(8, mode);
            how.setLong(16, LibC.RESOLVE_IN_ROOT | LibC.RESOLVE_NO_MAGICLINKS);
            String relative = normal.equals("/") ? "." : normal.substring(1);
            long fd;
            int errno;
            try {
                fd = LibC.INSTANCE.syscall(LibC.SYS_OPENAT2, (long) rootFd, relative, how, 24L);
                errno = fd < 0 ? Native.getLastError() : 0;
            } catch (LastErrorException e) {
                fd = -1;
                errno = e.getErrorCode();
            }
            if (fd >= 0) {
                return (int) fd;
            }
            if (errno == ENOSYS) {
                openat2Missing = true;
                return walkInRoot(path, flags, mode);
            }
            throw failure("openat2", path, errno);
        }
    }

    /**
     * What {@code openat2(RESOLVE_IN_ROOT)} does, where it is missing: the path is walked one component at a
     * time, each opened with {@code O_PATH|O_NOFOLLOW} relative to the directory before it, held open; a symlink
     * is read and its target walked in its place (an absolute one from the root); {@code ..} goes back to the
     * directory held before, never above the root, never through the kernel's {@code ..}. So a component
     * swapped for a symlink meanwhile is followed inside the root or not at all. The last component is opened
     * with the caller's flags plus {@code O_NOFOLLOW} (a symlink there is resolved the same way unless the
     * caller asked for {@code O_NOFOLLOW}). Symlinks are read as text, so a magic link of {@code /proc} leads
     * to the path it shows, inside the root, not to what it refers to.
     */
    private int walkInRoot(String path, int flags, int mode) throws IOException {
        Deque<String> todo = new ArrayDeque<>(components(normalise(path)));
        Deque<Integer> dirs = new ArrayDeque<>(); // opened below the root, innermost first
        boolean follow = (flags & LibC.O_NOFOLLOW) == 0;
        int symlinks = 0;
        try {
            while (true) {
                int current = dirs.isEmpty() ? rootFd : dirs.peek();
                String name = todo.isEmpty() ? "." : todo.poll();
                if (name.equals("..")) {
                    if (!dirs.isEmpty()) {
                        LibC.INSTANCE.close(dirs.pop());
                    }
                    continue;
                }
                boolean last = todo.isEmpty();
                int fd = LibC.INSTANCE.openat(current, name, LibC.O_PATH | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
                if (fd < 0) {
                    int errno = Native.getLastError();
                    if (!(last && errno == 2 && (flags & LibC.O_CREAT) != 0)) {
                        throw failure("openat", path, errno);
                    }
                } else {
                    Fds.Stat st;
                    String target = null;
                    try {
                        st = Fds.stat(fd);
                        if (st.isSymlink() && (!last || follow)) {
                            target = Fds.readlink(fd);
                        }
                    } catch (IOException e) {
                        LibC.INSTANCE.close(fd);
                        throw e;
                    }
                    if (target != null) {
                        LibC.INSTANCE.close(fd);
                        if (++symlinks > MAX_SYMLINKS || target.isEmpty()) {
                            throw failure("openat", path, target.isEmpty() ? 2 : ELOOP);
                        }
                        if (target.startsWith("/")) {
                            while (!dirs.isEmpty()) {
                                LibC.INSTANCE.close(dirs.pop());
                            }
                        }
                        List<String> parts = components(target);
                        for (int i = parts.size() - 1; i >= 0; i--) {
                            todo.push(parts.get(i));
                        }
                        continue;
                    }
                    if (!last) {
                        if (!st.isDirectory()) {
                            LibC.INSTANCE.close(fd);
                            throw failure("openat", path, ENOTDIR);
                        }
                        dirs.push(fd);
                        continue;
                    }
                    LibC.INSTANCE.close(fd);
                }
                // The last component, with the caller's flags; O_NOFOLLOW in case it became a symlink meanwhile
                int opened = LibC.INSTANCE.openat(current, name, flags | LibC.O_NOFOLLOW, mode);
                if (opened >= 0) {
                    boolean becameSymlink;
                    try {
                        becameSymlink = follow
                                && (flags & LibC.O_PATH) != 0
                                && Fds.stat(opened).isSymlink();
                    } catch (IOException e) {
                        LibC.INSTANCE.close(opened);
                        throw e;
                    }
                    if (becameSymlink && ++symlinks <= MAX_SYMLINKS) {
                        LibC.INSTANCE.close(opened); // became a symlink meanwhile: resolve it
                        todo.push(name);
                        continue;
                    }
                    if (becameSymlink) {
                        LibC.INSTANCE.close(opened);
                        throw failure("openat", path, ELOOP);
                    }
                    return opened;
                }
                int errno = Native.getLastError();
                if (follow && errno == ELOOP && ++symlinks <= MAX_SYMLINKS) {
                    todo.push(name); // became a symlink meanwhile: resolve it
                    continue;
                }
                throw failure("openat", path, errno);
            }
        } finally {
            for (int fd : dirs) {
                LibC.INSTANCE.close(fd);
            }
        }
    }

    private static List<String> components(String path) {
        List<String> parts = new ArrayList<>();
        for (String part : path.split("/")) {
            if (!part.isEmpty() && !part.equals(".")) {
                parts.add(part);
            }
        }
        return parts;
    }

    /**
     * @param path a path inside an environment
     * @throws IllegalArgumentException when it is not absolute or holds a NUL byte
     */
    public static void checkPath(String path) {
        normalise(path);
    }

    private static String normalise(String path) {
        if (path.indexOf('\0') >= 0) {
            // the kernel would read the path only up to the NUL: another file than the one named
            throw new IllegalArgumentException(
                    "A path inside an environment cannot hold a NUL byte: \"" + path.replace("\0", "\\0") + "\"");
        }
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("Paths inside an environment are absolute: \"" + path + "\"");
        }
        return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }

    private IOException failure(String syscall, String path, int errno) {
        return error(syscall, inRoot(path), errno);
    }

    private String inRoot(String path) {
        return path + " in " + description;
    }

    private static IOException error(String syscall, String path, int errno) {
        String message = syscall + " " + path + ": " + LibC.INSTANCE.strerror(errno) + " (errno " + errno + ")";
        return errno == 2 ? new NoSuchFileException(path, null, message) : new IOException(message);
    }

    @Override
    public void close() {
        LibC.INSTANCE.close(rootFd);
    }
}
