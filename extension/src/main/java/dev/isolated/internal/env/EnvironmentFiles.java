package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import dev.isolated.internal.helper.Fields;
import dev.isolated.internal.helper.FrameType;
import dev.isolated.internal.helper.HelperConnection;
import dev.isolated.internal.helper.HelperErrorException;
import dev.isolated.internal.os.InRootFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.function.UnaryOperator;

/**
 * An environment's files as the JVM reads and writes them, every path resolved inside the environment's root:
 * reads through its init's {@code /proc/<pid>/root} ({@link InRootFiles}); writes by the helper's WRITE, which
 * makes and writes them as the environment's root, inside its user namespace (native/PROTOCOL.md). Failures are
 * unchecked, naming the operation and the path.
 */
final class EnvironmentFiles {
    private final long initHostPid;
    private final Runnable ensureOpen;
    private final HelperConnection helper;
    private final int envId;

    /**
     * @param initHostPid the host pid of the environment's init
     * @param ensureOpen throws when the environment is closed, before each operation
     * @param helper the helper running the environment
     * @param envId its id there
     */
    EnvironmentFiles(long initHostPid, Runnable ensureOpen, HelperConnection helper, int envId) {
        this.initHostPid = initHostPid;
        this.ensureOpen = ensureOpen;
        this.helper = helper;
        this.envId = envId;
    }

    String readString(String path) {
        return new String(apply(f -> f.read(path), "read " + path), StandardCharsets.UTF_8);
    }

    Optional<String> readIfExists(String path) {
        return apply(
                f -> {
                    try {
                        return Optional.of(new String(f.read(path), StandardCharsets.UTF_8));
                    } catch (NoSuchFileException e) {
                        return Optional.<String>empty();
                    }
                },
                "read " + path);
    }

    /**
     * Rewrites an existing regular file through TRANSFORM, written as {@link #writeString} writes (its owner and
     * mode kept); a symlink at the path is not followed (refused, as anything but a regular file is), so a file
     * the environment replaced with a symlink keeps what it points to. One swapped in after the read is followed
     * inside the root, as the environment's root would follow it.
     */
    void rewriteNoFollow(String path, UnaryOperator<String> transform) {
        String before = new String(apply(f -> f.readNoFollow(path), "rewrite " + path), StandardCharsets.UTF_8);
        String after = transform.apply(before);
        if (!after.equals(before)) {
            try {
                write(path, "file", "644", false).data(after.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot rewrite " + path + ": " + e.getMessage(), e);
            }
        }
    }

    /** Creates missing parent directories, then the file (mode 0644), or writes over the one there. */
    void writeString(String path, String content) {
        String what = "write " + path;
        InRootFiles.checkPath(path);
        ensureOpen.run();
        try {
            write(path, "file", "644", true).data(content.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot " + what + ": " + e.getMessage(), e);
        }
    }

    /** Creates missing parent directories of the target, then copies. */
    void copyIn(Path hostSource, String target) {
        String what = "copy " + hostSource + " into the environment at " + target;
        InRootFiles.checkPath(target);
        ensureOpen.run();
        try {
            copyIn(hostSource, target, true);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot " + what + ": " + e.getMessage(), e);
        }
    }

    private void copyIn(Path source, String target, boolean parents) throws IOException {
        BasicFileAttributes attrs = Files.readAttributes(source, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (attrs.isSymbolicLink()) {
            write(target, "symlink", null, parents)
                    .link(Files.readSymbolicLink(source).toString())
                    .data(new byte[0]);
        } else if (attrs.isDirectory()) {
            write(target, "dir", "755", parents).data(new byte[0]);
            try (DirectoryStream<Path> children = Files.newDirectoryStream(source)) {
                for (Path child : children) {
                    String name = child.getFileName().toString();
                    copyIn(child, target.endsWith("/") ? target + name : target + "/" + name, false);
                }
            }
        } else {
            byte[] data = Files.readAllBytes(source);
            write(target, "file", Files.isExecutable(source) ? "755" : "644", parents)
                    .data(data);
        }
    }

    private Write write(String path, String type, String mode, boolean parents) {
        Fields fields = Fields.of()
                .add("env", Integer.toString(envId))
                .add("path", path)
                .add("type", type)
                .add("parents", Boolean.toString(parents));
        return new Write(path, mode == null ? fields : fields.add("mode", mode));
    }

    /** One WRITE request: made, sent and answered by {@link #data}. */
    private final class Write {
        private final String path;
        private Fields fields;

        Write(String path, Fields fields) {
            this.path = path;
            this.fields = fields;
        }

        Write link(String target) {
            fields = fields.add("link", target);
            return this;
        }

        /** Sends the request with {@code bytes} (a file's contents, else none) and waits for its answer. */
        void data(byte[] bytes) throws IOException {
            if (bytes.length > 0) {
                fields = fields.add("size", Integer.toString(bytes.length));
            }
            try {
                helper.call(FrameType.WRITE, fields, FrameType.WRITE_DATA, bytes)
                        .get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IsolatedException("Interrupted while writing " + path + " in the environment", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof HelperErrorException error) {
                    throw new IOException(describe(error.fields()), error);
                }
                throw e.getCause() instanceof RuntimeException r ? r : new IsolatedException(e.getMessage(), e);
            }
        }
    }

    /**
     * What the helper's ERROR says, e.g. {@code openat2 /etc/x in the environment of host pid 4242: Read-only file
     * system (errno 30); it is on a read-only mount: ...}, or {@code /tmp/pipe in the environment of host pid 4242 is
     * a FIFO, not a regular file}.
     */
    private String describe(Fields error) {
        String path = error.getOrEmpty("path");
        String where = path + " in the environment of host pid " + initHostPid;
        int errno;
        try {
            errno = Integer.parseInt(error.getOrEmpty("errno"));
        } catch (NumberFormatException e) {
            errno = -1;
        }
        String hint = error.getOrEmpty("hint");
        if (errno == 0) {
            return where + " is " + hint + ", not a regular file";
        }
        String syscall = error.getOrEmpty("syscall");
        String message = error.getOrEmpty("message"); // "syscall path: strerror"
        String prefix = syscall + (path.isEmpty() ? "" : " " + path) + ": ";
        String reason = message.startsWith(prefix) ? message.substring(prefix.length()) : message;
        return syscall + " " + where + ": " + reason + (errno > 0 ? " (errno " + errno + ")" : "")
                + (hint.isEmpty() ? "" : "; " + hint);
    }

    void copyOut(String source, Path hostTarget) {
        apply(
                f -> {
                    f.copyOut(source, hostTarget);
                    return null;
                },
                "copy " + source + " out of the environment to " + hostTarget);
    }

    boolean exists(String path) {
        return apply(f -> f.exists(path), "look up " + path);
    }

    private interface Operation<T> {
        T apply(InRootFiles files) throws IOException;
    }

    private <T> T apply(Operation<T> op, String what) {
        ensureOpen.run();
        try (InRootFiles files = InRootFiles.ofProcess(initHostPid)) {
            return op.apply(files);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot " + what + ": " + e.getMessage(), e);
        }
    }
}
