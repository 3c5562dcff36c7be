package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import dev.isolated.internal.helper.Fields;
import dev.isolated.internal.helper.FrameType;
import dev.isolated.internal.helper.HelperConnection;
import dev.isolated.internal.helper.HelperErrorException;
import dev.isolated.internal.os.InRootFiles;
import dev.isolated.internal.os.PathTreeCopy;
import dev.isolated.internal.os.TreeCopy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * An environment's files read by the helper's READ, as the environment's root would read them (inside its user
 * namespace, every path resolved inside its root; native/PROTOCOL.md): what a JVM that is not root reads, since
 * its own uid may not read another user's {@code 0600} file or list a {@code 0700} directory of the image.
 */
final class EnvironmentReads implements PathTreeCopy.Source, EnvironmentFiles.Reads {
    /** The most bytes of a file one READ of {@link #read(String, OutputStream)} asks for. */
    static final long CHUNK = 4L << 20;

    private final HelperConnection helper;
    private final int envId;
    private final long initHostPid;

    EnvironmentReads(HelperConnection helper, int envId, long initHostPid) {
        this.helper = helper;
        this.envId = envId;
        this.initHostPid = initHostPid;
    }

    /**
     * As {@code InRootFiles.read} and {@code readNoFollow}: a regular file of at most {@link TreeCopy#READ_LIMIT}
     * bytes, anything else refused unopened.
     *
     * @param follow whether a symlink at {@code path} itself is followed (inside the environment)
     */
    @Override
    public byte[] read(String path, boolean follow) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Fields ack = read(path, follow, "file", Long.toString(TreeCopy.READ_LIMIT), bytes::write);
        if (ack.getOrEmpty("more").equals("true")) {
            throw new IOException(where(path) + " is larger than 64 MiB, the most readString reads; copy it to the "
                    + "host with copyOut instead");
        }
        return bytes.toByteArray();
    }

    /** @return whether something (a dangling symlink too) is at {@code path} */
    @Override
    public boolean exists(String path) throws IOException {
        try {
            look(path);
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    @Override
    public void copyOut(String source, Path hostTarget) throws IOException {
        new PathTreeCopy(this).copyOut(source, hostTarget);
    }

    @Override
    public PathTreeCopy.Entry look(String path) throws IOException {
        Fields ack = read(path, false, null, null, data -> {});
        return new PathTreeCopy.Entry(Integer.parseInt(ack.getOrEmpty("mode"), 8));
    }

    /** One READ for the whole directory ({@code entries=true}): each name, its {@code st_mode}, a symlink's target. */
    @Override
    public List<PathTreeCopy.Child> list(String dir) throws IOException {
        ByteArrayOutputStream entries = new ByteArrayOutputStream();
        Fields fields = request(dir, false, "dir").add("entries", "true");
        call(dir, fields, entries::write);
        List<String> words = new ArrayList<>();
        byte[] all = entries.toByteArray();
        for (int from = 0, nul; from < all.length; from = nul + 1) {
            for (nul = from; all[nul] != 0; nul++) {
                // each word ends with a NUL
            }
            words.add(new String(all, from, nul - from, StandardCharsets.UTF_8));
        }
        List<PathTreeCopy.Child> list = new ArrayList<>();
        for (int i = 0; i + 2 < words.size(); i += 3) {
            int mode = Integer.parseInt(words.get(i + 1), 8);
            list.add(new PathTreeCopy.Child(words.get(i), new PathTreeCopy.Entry(mode), words.get(i + 2)));
        }
        return list;
    }

    @Override
    public String readlink(String path) throws IOException {
        ByteArrayOutputStream target = new ByteArrayOutputStream();
        read(path, false, "symlink", null, target::write);
        return target.toString(StandardCharsets.UTF_8);
    }

    /**
     * Reads the file in READs of at most {@link #CHUNK} bytes at successive offsets, so that the helper serves other
     * environments' requests between them: up to the size the first one answered ({@link TreeCopy#READ_LIMIT} when
     * that says 0, as of a {@code /proc} file), fewer when a READ brings less than asked (the file shrank). Each
     * READ opens the path anew: a file changed meanwhile is copied as each chunk was when it was read.
     */
    @Override
    public void read(String path, OutputStream to) throws IOException {
        Counted counted = new Counted(to);
        long size = Long.parseLong(readChunk(path, 0, CHUNK, counted).getOrEmpty("size"));
        long total = size > 0 ? size : TreeCopy.READ_LIMIT;
        for (long asked = CHUNK; counted.bytes == asked && counted.bytes < total; ) {
            asked = counted.bytes + Math.min(CHUNK, total - counted.bytes);
            readChunk(path, counted.bytes, asked - counted.bytes, counted);
        }
    }

    private Fields readChunk(String path, long offset, long limit, Counted to) throws IOException {
        Fields fields = request(path, false, "file")
                .add("offset", Long.toString(offset))
                .add("limit", Long.toString(limit));
        return call(path, fields, to::write);
    }

    /** The bytes a READ's data frames brought so far, passed on. */
    private static final class Counted {
        private final OutputStream to;
        private long bytes;

        Counted(OutputStream to) {
            this.to = to;
        }

        void write(byte[] data) throws IOException {
            to.write(data);
            bytes += data.length;
        }
    }

    @Override
    public String where(String path) {
        return path + " in the environment of host pid " + initHostPid;
    }

    private Fields read(String path, boolean follow, String type, String limit, HelperConnection.DataSink sink)
            throws IOException {
        Fields fields = request(path, follow, type);
        return call(path, limit == null ? fields : fields.add("limit", limit), sink);
    }

    private Fields request(String path, boolean follow, String type) {
        InRootFiles.checkPath(path); // IllegalArgumentException, as the JVM's own reads
        Fields fields = Fields.of()
                .add("env", Integer.toString(envId))
                .add("path", path)
                .add("follow", Boolean.toString(follow));
        return type == null ? fields : fields.add("type", type);
    }

    private Fields call(String path, Fields fields, HelperConnection.DataSink sink) throws IOException {
        try {
            return helper.callReceiving(FrameType.READ, fields, FrameType.READ_DATA, sink)
                    .get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IsolatedException("Interrupted while reading " + path + " in the environment", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HelperErrorException error) {
                throw HelperFileErrors.of(error, initHostPid, true);
            }
            if (e.getCause() instanceof UncheckedIOException failed) {
                throw failed.getCause();
            }
            throw e.getCause() instanceof RuntimeException r ? r : new IsolatedException(e.getMessage(), e);
        }
    }
}
