package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import dev.isolated.internal.helper.Fields;
import dev.isolated.internal.helper.FrameType;
import dev.isolated.internal.helper.HelperConnection;
import dev.isolated.internal.helper.HelperErrorException;
import dev.isolated.internal.os.HostRegularFile;
import dev.isolated.internal.os.InRootFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.UnaryOperator;

/**
 * An environment's files as the JVM reads and writes them, every path resolved inside the environment's root, with
 * the authority of the environment's root: writes by the helper's WRITE, which makes and writes them inside the
 * environment's user namespace (native/PROTOCOL.md); reads, as root, by the JVM itself through its init's {@code
 * /proc/<pid>/root} ({@link InRootFiles}: host root may read whatever root inside may), else by the helper's READ
 * ({@link EnvironmentReads}), since the JVM's own uid may not read another user's {@code 0600} file of the image.
 * Failures are unchecked, naming the operation and the path.
 */
final class EnvironmentFiles {
    /** Whether the JVM reads the environment's files itself; computed once, as the JVM's uid never changes. */
    private static final boolean READS_DIRECTLY = jvmIsRoot();

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
        return new String(read(path, true, "read " + path), StandardCharsets.UTF_8);
    }

    Optional<String> readIfExists(String path) {
        return read(
                reads -> {
                    try {
                        return Optional.of(new String(reads.read(path, true), StandardCharsets.UTF_8));
                    } catch (NoSuchFileException e) {
                        return Optional.<String>empty();
                    }
                },
                "read " + path);
    }

    private byte[] read(String path, boolean follow, String what) {
        return read(reads -> reads.read(path, follow), what);
    }

    /**
     * Rewrites an existing regular file through TRANSFORM, written as {@link #writeString} writes (its owner and
     * mode kept); a symlink at the path is not followed (refused, as anything but a regular file is), so a file
     * the environment replaced with a symlink keeps what it points to. One swapped in after the read is followed
     * inside the root, as the environment's root would follow it.
     */
    void rewriteNoFollow(String path, UnaryOperator<String> transform) {
        String before = new String(read(path, false, "rewrite " + path), StandardCharsets.UTF_8);
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

    /** Creates the directory and its missing parents, mode 0755 (one already there is an error: check first). */
    void makeDirectories(String path) {
        InRootFiles.checkPath(path);
        ensureOpen.run();
        String dir = path.replaceAll("(.)/+$", "$1");
        try {
            write(dir, "dir", "755", true).data(new byte[0]);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot make the directory " + dir + ": " + e.getMessage(), e);
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
            try (FileChannel file = HostRegularFile.open(source)) {
                long size = file.size();
                write(target, "file", Files.isExecutable(source) ? "755" : "644", parents)
                        .data(size, new FileChunks(source, target, file, size));
            }
        }
    }

    /**
     * A host file's first {@code size} bytes (its size when opened: what it gained since is left out), read in
     * frames of at most {@link HelperConnection#MAX_DATA} bytes, one at a time: the JVM holds one frame whatever the
     * file's size. Fewer bytes (it shrank) fail the copy, naming the file; the WRITE is then ended unanswered by an
     * ACK, the file in the environment left with the bytes sent.
     */
    private static final class FileChunks implements HelperConnection.DataSource {
        private final Path source;
        private final String target;
        private final FileChannel file;
        private final long size;
        private final ByteBuffer buffer;
        private long sent;

        FileChunks(Path source, String target, FileChannel file, long size) {
            this.source = source;
            this.target = target;
            this.file = file;
            this.size = size;
            this.buffer = ByteBuffer.allocate((int) Math.min(size, HelperConnection.MAX_DATA));
        }

        @Override
        public byte[] next() throws IOException {
            if (sent == size) {
                return null;
            }
            buffer.clear().limit((int) Math.min(buffer.capacity(), size - sent));
            while (buffer.hasRemaining()) {
                if (file.read(buffer, sent + buffer.position()) < 0) {
                    throw new IOException(String.format(
                            Locale.ROOT,
                            "%s shrank while it was copied: it had %,d bytes when opened and %,d after %,d were "
                                    + "read; %s in the environment is left incomplete",
                            source,
                            size,
                            file.size(),
                            sent + buffer.position(),
                            target));
                }
            }
            sent += buffer.position();
            return buffer.position() == buffer.capacity()
                    ? buffer.array()
                    : Arrays.copyOf(buffer.array(), buffer.position());
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
            await(helper.call(FrameType.WRITE, fields, FrameType.WRITE_DATA, bytes));
        }

        /** Sends the request with a file's {@code size} bytes, streamed from {@code chunks}, and waits for its answer. */
        void data(long size, HelperConnection.DataSource chunks) throws IOException {
            if (size > 0) {
                fields = fields.add("size", Long.toString(size));
            }
            await(helper.callSending(FrameType.WRITE, fields, FrameType.WRITE_DATA, chunks));
        }

        private void await(CompletableFuture<Fields> reply) throws IOException {
            try {
                reply.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IsolatedException("Interrupted while writing " + path + " in the environment", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof HelperErrorException error) {
                    throw HelperFileErrors.of(error, initHostPid, false);
                }
                if (e.getCause() instanceof UncheckedIOException failed) { // the host file's, named there
                    throw failed.getCause();
                }
                throw e.getCause() instanceof RuntimeException r ? r : new IsolatedException(e.getMessage(), e);
            }
        }
    }

    void copyOut(String source, Path hostTarget) {
        read(
                reads -> {
                    reads.copyOut(source, hostTarget);
                    return null;
                },
                "copy " + source + " out of the environment to " + hostTarget);
    }

    boolean exists(String path) {
        return read(reads -> reads.exists(path), "look up " + path);
    }

    /** The reads, by the JVM ({@link InRootFiles}) or by the helper ({@link EnvironmentReads}). */
    interface Reads {
        /** FOLLOW: whether a symlink at the path itself is followed, inside the root (else refused). */
        byte[] read(String path, boolean follow) throws IOException;

        boolean exists(String path) throws IOException;

        void copyOut(String source, Path hostTarget) throws IOException;
    }

    private record DirectReads(InRootFiles files) implements Reads {
        @Override
        public byte[] read(String path, boolean follow) throws IOException {
            return follow ? files.read(path) : files.readNoFollow(path);
        }

        @Override
        public boolean exists(String path) {
            return files.exists(path);
        }

        @Override
        public void copyOut(String source, Path hostTarget) throws IOException {
            files.copyOut(source, hostTarget);
        }
    }

    private interface Operation<T> {
        T apply(Reads reads) throws IOException;
    }

    private <T> T read(Operation<T> op, String what) {
        ensureOpen.run();
        try {
            if (!READS_DIRECTLY) {
                return op.apply(new EnvironmentReads(helper, envId, initHostPid));
            }
            try (InRootFiles files = InRootFiles.ofProcess(initHostPid)) {
                return op.apply(new DirectReads(files));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot " + what + ": " + e.getMessage(), e);
        }
    }

    private static boolean jvmIsRoot() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot tell the JVM's uid from /proc/self: " + e.getMessage(), e);
        }
    }
}
