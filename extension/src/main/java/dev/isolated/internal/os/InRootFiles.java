package dev.isolated.internal.os;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and writes files inside an environment from the JVM, through the environment's root as seen by its
 * init ({@code /proc/<pid>/root}). Every path is resolved with {@code openat2(RESOLVE_IN_ROOT)}, so
 * symlinks in the environment (even {@code /etc -> /}) resolve inside it and never reach the host's files.
 * As real root, whose uid the environment's user namespace does not map (its root is a host id of its own
 * range), files and directories are created with the calling thread's fsuid and fsgid set to that id for
 * the call, so they belong to root inside (the kernel refuses owners the namespace cannot map: EOVERFLOW).
 */
public final class InRootFiles implements AutoCloseable {
    private final int rootFd;
    private final String description;
    /** As real root: the host id of root inside the environment, else -1. */
    private final int envRootHostId;

    private InRootFiles(int rootFd, String description, int envRootHostId) {
        this.rootFd = rootFd;
        this.description = description;
        this.envRootHostId = envRootHostId;
    }

    /** The host uid of 0 in the user namespace of {@code pid} when we are real root and it is not 0, else -1. */
    private static int envRootHostId(long pid) {
        try {
            if (!Integer.valueOf(0).equals(Files.getAttribute(Paths.get("/proc/self"), "unix:uid"))) {
                return -1;
            }
            String[] map = Files.readString(Paths.get("/proc", Long.toString(pid), "uid_map")).trim().split("\\s+");
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
        return new InRootFiles(fd, "the environment of host pid " + initHostPid, envRootHostId(initHostPid));
    }

    /**
     * @param path an absolute path inside the environment
     * @return the file's bytes
     * @throws IOException naming the path when it cannot be read
     */
    public byte[] read(String path) throws IOException {
        int fd = openInRoot(path, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        try {
            return Files.readAllBytes(viaFd(fd));
        } finally {
            LibC.INSTANCE.close(fd);
        }
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
        } catch (java.nio.file.NoSuchFileException e) {
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
                inParent(prefix, (dirFd, name) -> {
                    int rc = LibC.INSTANCE.mkdirat(dirFd, name, 0755);
                    return rc != 0 && Native.getLastError() == 17 ? 0 : rc; // EEXIST: made meanwhile
                }, "mkdirat");
            }
            if (slash < 0) {
                return;
            }
        }
    }

    /**
     * Creates or replaces a file (its parent directory must exist).
     *
     * @param path an absolute path inside the environment
     * @param data the contents
     * @param mode the permission bits of a new file
     * @throws IOException naming the path when it cannot be written
     */
    public void write(String path, byte[] data, int mode) throws IOException {
        int fd = asEnvRoot(() -> openInRoot(path, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_TRUNC | LibC.O_CLOEXEC, mode));
        try {
            Files.write(viaFd(fd), data);
        } finally {
            LibC.INSTANCE.close(fd);
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
     * Copies a file, directory tree or symlink out of the environment to the host.
     *
     * @param source an absolute path inside the environment
     * @param target a host path that does not exist yet
     * @throws IOException naming the path that failed
     */
    public void copyOut(String source, Path target) throws IOException {
        int fd = openInRoot(source, LibC.O_PATH | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
        try {
            String linkTarget = symlinkTarget(fd);
            if (linkTarget != null) {
                Files.createSymbolicLink(target, Paths.get(linkTarget));
            } else if (Files.isDirectory(viaFd(fd))) { // the fd is not a symlink, so following it is safe
                Files.createDirectory(target);
                for (String name : list(viaFd(fd))) {
                    copyOut(join(source, name), target.resolve(name));
                }
            } else {
                Files.write(target, read(source));
            }
        } finally {
            LibC.INSTANCE.close(fd);
        }
    }

    /** The target when {@code fd} (opened with O_PATH|O_NOFOLLOW) is a symlink, else null. */
    private static String symlinkTarget(int fd) {
        byte[] buf = new byte[4096];
        long n = LibC.INSTANCE.readlinkat(fd, "", buf, buf.length);
        return n < 0 ? null : new String(buf, 0, (int) n, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static List<String> list(Path dir) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path child : children) {
                names.add(child.getFileName().toString());
            }
        }
        names.sort(null);
        return names;
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
        try (Memory how = new Memory(24)) {
            how.setLong(0, flags & 0xffffffffL);
            how.setLong(8, mode);
            how.setLong(16, LibC.RESOLVE_IN_ROOT | LibC.RESOLVE_NO_MAGICLINKS);
            String relative = normal.equals("/") ? "." : normal.substring(1);
            long fd;
            try {
                fd = LibC.INSTANCE.syscall(LibC.SYS_OPENAT2, (long) rootFd, relative, how, 24L);
            } catch (LastErrorException e) {
                throw failure("openat2", path, e.getErrorCode());
            }
            if (fd < 0) {
                throw failure("openat2", path, Native.getLastError());
            }
            return (int) fd;
        }
    }

    private static String normalise(String path) {
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("Paths inside an environment are absolute: \"" + path + "\"");
        }
        return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }

    private static String join(String dir, String name) {
        return dir.endsWith("/") ? dir + name : dir + "/" + name;
    }

    private static Path viaFd(int fd) {
        return Paths.get("/proc/self/fd/" + fd);
    }

    private IOException failure(String syscall, String path, int errno) {
        return error(syscall, path + " in " + description, errno);
    }

    private static IOException error(String syscall, String path, int errno) {
        String message = syscall + " " + path + ": " + LibC.INSTANCE.strerror(errno) + " (errno " + errno + ")";
        return errno == 2 ? new java.nio.file.NoSuchFileException(path, null, message) : new IOException(message);
    }

    @Override
    public void close() {
        LibC.INSTANCE.close(rootFd);
    }
}
