package dev.isolated.internal.os;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Reads and writes files inside an environment from the JVM, through the environment's root as seen by its
 * init ({@code /proc/<pid>/root}). Every path is resolved with {@code openat2(RESOLVE_IN_ROOT)}, so
 * symlinks in the environment (even {@code /etc -> /}) resolve inside it and never reach the host's files;
 * where openat2 is missing, by a walk that does the same with {@code O_NOFOLLOW} one component at a time.
 * As real root, whose uid the environment's user namespace does not map (its root is a host id of its own
 * range), files and directories are created with the calling thread's fsuid and fsgid set to that id for
 * the call, so they belong to root inside (the kernel refuses owners the namespace cannot map: EOVERFLOW).
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
    /** As real root: the host id of root inside the environment, else -1. */
    private final int envRootHostId;

    private InRootFiles(int rootFd, String description, boolean walk, int envRootHostId) {
        this.rootFd = rootFd;
        this.description = description;
        this.walk = walk;
        this.envRootHostId = envRootHostId;
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
        return new InRootFiles(fd, root.toString(), walk, -1);
    }

    /** The host uid of 0 in the user namespace of {@code pid} when we are real root and it is not 0, else -1. */
    private static int envRootHostId(long pid) {
        try {
            if (!Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"))) {
                return -1;
            }
            String[] map = Files.readString(Path.of("/proc", Long.toString(pid), "uid_map"))
                    .trim()
                    .split("\\s+");
            long outside = map.length >= 3 && map[0].equals("0") ? Long.parseLong(map[1]) : 0;
            return outside > 0 && outside < Integer.MAX_VALUE ? (int) outside : -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private interface Creation<T> {
        T run() throws IOException;
    }

    /** Runs a creating call as root inside (see the class comment); errno is read inside {@code call}. */
    private <T> T asEnvRoot(Creation<T> call) throws IOException {
        if (envRootHostId < 0) {
            return call.run();
        }
        LibC.INSTANCE.setfsgid(envRootHostId);
        LibC.INSTANCE.setfsuid(envRootHostId);
        try {
            return call.run();
        } finally {
            LibC.INSTANCE.setfsuid(0);
            LibC.INSTANCE.setfsgid(0);
        }
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
        return new InRootFiles(fd, "the environment of host pid " + initHostPid, false, envRootHostId(initHostPid));
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
     * Creates the directory and its missing parents, mode 0755, like {@code mkdir -p}; each one is made in its
     * parent resolved inside the root, so a symlinked component still cannot lead out.
     *
     * @param path an absolute path inside the environment
     * @throws IOException naming the path when a component cannot be made (or is not a directory)
     */
    public void createDirectories(String path) throws IOException {
        String normal = normalise(path);
        for (int slash = normal.indexOf('/', 1); ; slash = normal.indexOf('/', slash + 1)) {
            String prefix = slash < 0 ? normal : normal.substring(0, slash);
            if (!prefix.equals("/") && !exists(prefix)) {
                inParent(
                        prefix,
                        (dirFd, name) -> {
                            int rc = LibC.INSTANCE.mkdirat(dirFd, name, 0755);
                            return rc != 0 && Native.getLastError() == 17 ? 0 : rc; // EEXIST: made meanwhile
                        },
                        "mkdirat");
            }
            if (slash < 0) {
                return;
            }
        }
    }

    /**
     * Creates or replaces a regular file (its parent directory must exist); anything else at the path (a FIFO,
     * socket, device or directory) is refused, and a FIFO is never opened in a way that could block.
     *
     * @param path an absolute path inside the environment
     * @param data the contents
     * @param mode the permission bits of a new file
     * @throws IOException naming the path when it cannot be written
     */
    public void write(String path, byte[] data, int mode) throws IOException {
        write(path, data, mode, 0);
    }

    /**
     * As {@link #write(String, byte[], int)}, but a symlink at {@code path} itself is not followed: it is refused
     * (as not a regular file, or {@code ELOOP} should one be swapped in meanwhile).
     *
     * @param path an absolute path inside the environment
     * @param data the contents
     * @param mode the permission bits of a new file
     * @throws IOException naming the path when it cannot be written
     */
    public void writeNoFollow(String path, byte[] data, int mode) throws IOException {
        write(path, data, mode, LibC.O_NOFOLLOW);
    }

    private void write(String path, byte[] data, int mode, int extraFlags) throws IOException {
        try {
            int existing = openInRoot(path, LibC.O_PATH | LibC.O_CLOEXEC | extraFlags, 0);
            try {
                refuseUnlessRegular(path, existing);
            } finally {
                LibC.INSTANCE.close(existing);
            }
        } catch (NoSuchFileException e) {
            // made below
        }
        // O_NONBLOCK: should a FIFO be swapped in since, opening it neither blocks nor truncates anything
        int fd = asEnvRoot(() ->
                openInRoot(path, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_NONBLOCK | LibC.O_CLOEXEC | extraFlags, mode));
        try {
            refuseUnlessRegular(path, fd);
            if (LibC.INSTANCE.ftruncate(fd, 0) != 0) {
                throw failure("ftruncate", path, Native.getLastError());
            }
            try (OutputStream out = Fds.output(fd)) {
                out.write(data);
            }
        } finally {
            LibC.INSTANCE.close(fd);
        }
    }

    private void refuseUnlessRegular(String path, int fd) throws IOException {
        Fds.Stat st = Fds.stat(fd);
        if (!st.isRegular()) {
            throw new IOException(inRoot(path) + " is " + st.typeName() + ", not a regular file");
        }
    }

    /**
     * Copies a host file, directory tree or symlink into the environment (parents of {@code target} must exist).
     *
     * @param source a host path
     * @param target an absolute path inside the environment
     * @throws IOException naming the path that failed
     */
    public void copyIn(Path source, String target) throws IOException {
        BasicFileAttributes attrs = Files.readAttributes(source, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (attrs.isSymbolicLink()) {
            String link = Files.readSymbolicLink(source).toString(); // as the JVM: not as root inside (asEnvRoot)
            inParent(target, (dirFd, name) -> LibC.INSTANCE.symlinkat(link, dirFd, name), "symlinkat");
        } else if (attrs.isDirectory()) {
            inParent(target, (dirFd, name) -> LibC.INSTANCE.mkdirat(dirFd, name, 0755), "mkdirat");
            try (DirectoryStream<Path> children = Files.newDirectoryStream(source)) {
                for (Path child : children) {
                    copyIn(child, join(target, child.getFileName().toString()));
                }
            }
        } else {
            try (InputStream in = Files.newInputStream(source)) {
                write(target, in.readAllBytes(), Files.isExecutable(source) ? 0755 : 0644);
            }
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
        try (HostDirectory parent = HostDirectory.open(absolute.getParent())) {
            String name = absolute.getFileName().toString();
            if (parent.has(name)) {
                throw exists(absolute);
            }
            Fds.Stat st = Fds.stat(fd);
            if (!st.isRegular() && !st.isDirectory() && !st.isSymlink()) {
                throw new IOException(inRoot(source) + " is " + st.typeName()
                        + "; copyOut copies regular files, directories and symlinks only");
            }
            try {
                new TreeCopy(TreeCopy.COPY_OUT).copy(fd, source, parent, name);
            } catch (FileAlreadyExistsException e) {
                if (absolute.toString().equals(e.getFile())) {
                    throw exists(absolute); // made meanwhile
                }
                throw e;
            }
        } finally {
            LibC.INSTANCE.close(fd);
        }
    }

    private static FileAlreadyExistsException exists(Path target) {
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

    private interface AtCall {
        int call(int dirFd, String name) throws IOException;
    }

    private void inParent(String path, AtCall call, String syscall) throws IOException {
        String normal = normalise(path);
        int slash = normal.lastIndexOf('/');
        String parent = slash == 0 ? "/" : normal.substring(0, slash);
        String name = normal.substring(slash + 1);
        int dirFd = openInRoot(parent, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        try {
            int err = asEnvRoot(() -> call.call(dirFd, name) != 0 ? Math.max(1, Native.getLastError()) : 0);
            if (err != 0) {
                throw failure(syscall, path, err);
            }
        } finally {
            LibC.INSTANCE.close(dirFd);
        }
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

    private static String join(String dir, String name) {
        return dir.endsWith("/") ? dir + name : dir + "/" + name;
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
