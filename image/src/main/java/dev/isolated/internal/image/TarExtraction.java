package dev.isolated.internal.image;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableSet;
import java.util.TreeSet;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * One image being written into a rootfs directory: a single rootfs tar, or the layers of an image
 * applied in order. The {@link UnpackLimits} count over the whole image; directory modes are applied
 * once, by {@link #finish()}.
 *
 * <h2>Layers and whiteouts</h2>
 * In a layer ({@link #extractLayer}), {@code .wh.<name>} deletes {@code <name>} as left by the lower
 * layers, and {@code <dir>/.wh..wh..opq} deletes everything the lower layers put in {@code <dir>}. Both
 * spare what the same layer writes, wherever the marker sits in the tar: the entries written so far in
 * the layer are remembered, so an opaque marker met after its siblings does not delete them. Whiteout
 * files never appear in the rootfs.
 */
final class TarExtraction {

    private static final int BUFFER_SIZE = 64 * 1024;
    private static final int RECORD_SIZE = 512;
    private static final String WHITEOUT_PREFIX = ".wh.";
    private static final String OPAQUE_MARKER = ".wh..wh..opq";

    private final UnpackLimits limits;
    /** Counts the image's entries and bytes against the limits, over every layer unpacked for it. */
    private final ImageBudget budget;

    private final String image;
    private final RootfsWriter writer;
    private final List<String> notes = new ArrayList<>();
    /** This extraction's own entries and bytes (the budget's counts include the image's other layers). */
    private long entries;

    private long bytes;
    private long extendedAttributes;
    private long skippedWhiteoutMetadata;
    /** For a stored layer ({@link #forStoredLayer}): its whiteouts and opaque directories, else {@code null}. */
    private final List<String> recordedWhiteouts;

    private String uncompressedDigest;
    private final ByteCounter progress;

    /** Told how many (compressed) bytes each read consumed, for progress reports. */
    @FunctionalInterface
    interface ByteCounter {

        /** {@code bytes} more were read. */
        void add(long bytes);
    }

    /**
     * @param image the image's name for messages
     * @param target an existing directory, normally empty
     */
    TarExtraction(UnpackLimits limits, String image, Path target) {
        this(new ImageBudget(limits), image, target, false, bytes -> {});
    }

    private TarExtraction(ImageBudget budget, String image, Path target, boolean storedLayer, ByteCounter progress) {
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("Unpack target " + target + " is not an existing directory");
        }
        boolean root = PosixCalls.isRoot();
        this.limits = budget.limits();
        this.budget = budget;
        this.image = image;
        this.writer = new RootfsWriter(target, root, !storedLayer);
        this.recordedWhiteouts = storedLayer ? new ArrayList<>() : null;
        this.progress = progress;
        if (!root) {
            notes.add("Image " + image + ": not running as root, so files belong to the current user and "
                    + "set-uid/set-gid bits are dropped");
        }
    }

    /**
     * One layer unpacked on its own into {@code target}, to be stored and merged later
     * ({@link LayerMerger}): its whiteouts and opaque markers are recorded ({@link #whiteouts()}), not
     * applied, device nodes are recorded as whiteouts, and {@code /dev} and {@code /proc} are checked in
     * the merged image only. The limits count over the whole image: {@code budget} is shared with its other layers,
     * stored before or unpacked at the same time, and once it is stopped the extraction ends with an
     * {@link UnpackStoppedException}.
     *
     * @param budget the image's limits and what its layers hold so far
     * @param progress told of the bytes read
     */
    static TarExtraction forStoredLayer(ImageBudget budget, String image, Path target, ByteCounter progress) {
        return new TarExtraction(budget, image, target, true, progress);
    }

    /**
     * What a stored layer hides below it, one line each: {@code whiteout <path>} or {@code opaque <dir>}
     * ({@code opaque } alone for the root).
     */
    List<String> whiteouts() {
        return List.copyOf(recordedWhiteouts);
    }

    /** The directories no entry named, created as parents ({@link RootfsWriter#implicitDirectories()}). */
    java.util.Set<String> implicitDirectories() {
        return writer.implicitDirectories();
    }

    /** Whether the tar described the root directory ({@code ./}). */
    boolean rootDescribed() {
        return writer.describesRoot();
    }

    /** The {@code sha256:} digest of the last tar's uncompressed bytes (its diff_id), once read to its end. */
    String uncompressedDigest() {
        return uncompressedDigest;
    }

    /**
     * Extracts a whole rootfs tar; {@code .wh.} files are ordinary files here.
     *
     * @param archive the tar, plain or compressed; not closed
     */
    void extractRootfs(InputStream archive) {
        new Pass(image, null).run(archive);
    }

    /**
     * Applies one layer on top of what is there, with whiteouts.
     *
     * @param layer the layer tar, plain or compressed; not closed
     * @param layerName names the layer in messages, e.g. {@code layer 2 (sha256:ab12...)}
     */
    void extractLayer(InputStream layer, String layerName) {
        new Pass(image + ", " + layerName, new TreeSet<>()).run(layer);
    }

    /**
     * Refuses symlinked mount points and applies directory modes; call once, after the last tar.
     *
     * @return counts and notes
     */
    UnpackResult finish() {
        try {
            writer.finish();
        } catch (EntryRejectedException e) {
            throw new ImageUnpackException("Image " + image + " is refused: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ImageUnpackException("Cannot set directory modes of image " + image + ": " + e, e);
        }
        if (extendedAttributes > 0) {
            notes.add("Image " + image + ": " + extendedAttributes + " extended attribute(s) (e.g. file capabilities) "
                    + "were not applied");
        }
        if (skippedWhiteoutMetadata > 0) {
            notes.add("Image " + image + ": skipped " + skippedWhiteoutMetadata + " aufs metadata entries (.wh..wh.*)");
        }
        return new UnpackResult(entries, bytes, notes);
    }

    /** One tar read through. */
    private final class Pass {

        /** Names the tar in messages, e.g. {@code app.tar, layer 2 (sha256:...)}. */
        private final String label;
        /** The paths this layer has written so far; {@code null} for a plain rootfs tar (no whiteouts). */
        private final NavigableSet<String> written;

        private String previous;
        private long entriesInPass;
        /** copy()'s, for every entry of the pass: one per entry cost a 64 KiB zeroed allocation each. */
        private final byte[] buffer = new byte[BUFFER_SIZE];

        Pass(String label, NavigableSet<String> written) {
            this.label = label;
            this.written = written;
        }

        void run(InputStream archive) {
            BufferedInputStream buffered = new BufferedInputStream(new CloseShield(archive, progress), BUFFER_SIZE);
            // Decompressed and digested 64 KiB at a time (not one 512-byte tar record per native call), on a
            // thread of its own while the entries are written; closed (and its thread ended) before the rest.
            try (InputStream raw = Compression.detect(buffered).decompress(buffered, label);
                    DigestInputStream digesting = new DigestInputStream(raw, Sha256.newDigest());
                    ReadAheadInputStream decompressed =
                            new ReadAheadInputStream(digesting, "isolated-unpack " + label);
                    PositionInputStream counted = new PositionInputStream(decompressed);
                    TarArchiveInputStream tar = new BoundedTarInputStream(counted)) {
                readEntries(tar, counted);
                verifyTrailer(decompressed);
                uncompressedDigest = "sha256:" + Sha256.hex(digesting.getMessageDigest());
            } catch (IOException e) {
                throw new ImageUnpackException("Image " + label + " cannot be read: " + e.getMessage(), e);
            }
        }

        private void readEntries(TarArchiveInputStream tar, PositionInputStream counted) {
            long lastEntryEnd = 0;
            for (TarArchiveEntry entry = next(tar); entry != null; entry = next(tar)) {
                entriesInPass++;
                lastEntryEnd = counted.position() + (entry.getSize() + RECORD_SIZE - 1) / RECORD_SIZE * RECORD_SIZE;
                entries++;
                if (budget.addEntry() > limits.maxEntries()) {
                    throw new ImageUnpackException("Image " + image + " has more than " + limits.maxEntries()
                            + " entries (stopped at '" + entry.getName()
                            + "'); if it is trusted, raise the limit with -D"
                            + UnpackLimits.MAX_ENTRIES_PROPERTY + "=N");
                }
                try {
                    checkDeclaredSize(entry);
                    apply(entry, tar);
                    // What apply left unread (a whiteout's, a device's, an unknown type's data) is read as well, and
                    // counted: skipped data costs as much to decompress as written data.
                    copy(tar, OutputStream.nullOutputStream(), entry);
                } catch (EntryRejectedException e) {
                    throw new ImageUnpackException(
                            "Image " + label + ": entry '" + entry.getName() + "' is refused: " + e.getMessage(), e);
                } catch (ArchiveReadException e) {
                    throw new ImageUnpackException(
                            "Image " + label + " is truncated or corrupt in entry '" + entry.getName() + "': "
                                    + e.getCause().getMessage(),
                            e.getCause());
                } catch (IOException e) {
                    throw new EntryWriteException(label, entry.getName(), e);
                } catch (InvalidPathException e) {
                    throw new ImageUnpackException(
                            "Image " + label + ": entry '" + entry.getName() + "' cannot be written: "
                                    + EntryNames.notAFileName(),
                            e);
                }
                previous = entry.getName();
            }
            if (entriesInPass == 0 && written == null) {
                throw new ImageUnpackException("Image " + label + " holds no entries; is it a tar archive?");
            }
            // Commons Compress takes the end of the input for the end of the archive; tar(1) does not.
            if (entriesInPass > 0 && counted.position() < lastEntryEnd + RECORD_SIZE) {
                throw new ImageUnpackException("Image " + label + " is truncated: it ends after entry '" + previous
                        + "' without the end-of-archive marker");
            }
        }

        /** Reads the rest of the compressed stream, so gzip, xz and zstd check their trailers. */
        private void verifyTrailer(InputStream decompressed) {
            try {
                decompressed.transferTo(OutputStream.nullOutputStream());
            } catch (IOException e) {
                throw new ImageUnpackException(
                        "Image " + label + " is corrupt after its last entry '" + previous + "': " + e.getMessage(), e);
            }
        }

        private TarArchiveEntry next(TarArchiveInputStream tar) {
            TarArchiveEntry entry;
            try {
                entry = tar.getNextEntry();
            } catch (IOException e) {
                HeaderLimitException limit = HeaderLimitException.in(e);
                if (limit != null) {
                    throw new ImageUnpackException(
                            "Image " + label + " is refused " + where() + ": " + limit.getMessage(), e);
                }
                throw new ImageUnpackException(
                        "Image " + label + " is truncated or corrupt " + where() + ": " + e.getMessage(), e);
            }
            // Commons Compress does not verify header checksums; a damaged header must not become an entry.
            if (entry != null && !entry.isCheckSumOK()) {
                throw new ImageUnpackException("Image " + label + " is truncated or corrupt " + where()
                        + ": the next header (name '" + entry.getName() + "') has a wrong checksum");
            }
            return entry;
        }

        private String where() {
            return previous == null ? "at its first entry" : "after entry '" + previous + "'";
        }

        private void apply(TarArchiveEntry entry, InputStream tar) throws IOException {
            String relative = EntryNames.normalize(entry.getName(), "name");
            if (written != null && applyWhiteout(relative)) {
                return;
            }
            RootfsWriter.Metadata metadata = new RootfsWriter.Metadata(
                    entry.getMode() & 07777,
                    entry.getLongUserId(),
                    entry.getLongGroupId(),
                    entry.getLastModifiedTime());
            extendedAttributes += entry.getExtraPaxHeaders().keySet().stream()
                    .filter(key -> key.startsWith("SCHILY.xattr.") || key.startsWith("LIBARCHIVE.xattr."))
                    .count();
            if (entry.isDirectory()) {
                writer.directory(relative, metadata);
            } else if (entry.isSymbolicLink()) {
                writer.symlink(relative, entry.getLinkName(), metadata);
            } else if (entry.isLink()) {
                writer.hardlink(relative, EntryNames.normalize(entry.getLinkName(), "hardlink target"));
            } else if (entry.isCharacterDevice() || entry.isBlockDevice()) {
                // Never created, not even as root: a device node in the cache would open the host's device for
                // whoever reaches it. What the entry replaces (an earlier entry, a lower layer's file) is gone.
                if (relative.isEmpty()) {
                    throw new EntryRejectedException("it names the rootfs itself, which can only be a directory");
                }
                writer.remove(relative);
                if (recordedWhiteouts != null) {
                    recordedWhiteouts.add("whiteout " + relative); // it replaces what lower layers have there
                    written.remove(relative);
                }
                notes.add("Image " + label + ": skipped " + (entry.isCharacterDevice() ? "character" : "block")
                        + " device '" + entry.getName() + "' (" + entry.getDevMajor() + ":" + entry.getDevMinor()
                        + "): the image cache never holds device nodes; the environment mounts its own /dev");
                return;
            } else if (entry.isFIFO()) {
                writer.fifo(relative, metadata);
            } else if (isRegularFile(entry)) {
                writer.file(relative, metadata, out -> copy(tar, out, entry));
            } else {
                notes.add("Image " + label + ": skipped entry '" + entry.getName() + "' of unsupported type '"
                        + (char) entry.getLinkFlag() + "'");
                return;
            }
            if (written != null) {
                written.add(relative);
            }
        }

        /**
         * Applies {@code relative} if it is a whiteout, to what the lower layers left.
         *
         * @return whether it was a whiteout (and so must not be written)
         */
        private boolean applyWhiteout(String relative) throws IOException {
            int slash = relative.lastIndexOf('/');
            String parent = slash < 0 ? "" : relative.substring(0, slash);
            String base = relative.substring(slash + 1);
            if (!base.startsWith(WHITEOUT_PREFIX)) {
                return false;
            }
            if (base.equals(OPAQUE_MARKER)) {
                if (recordedWhiteouts != null) {
                    recordedWhiteouts.add("opaque " + parent);
                } else {
                    writer.removeAllExcept(parent, written);
                }
            } else if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
                skippedWhiteoutMetadata++;
            } else {
                String name = base.substring(WHITEOUT_PREFIX.length());
                if (name.isEmpty() || name.equals(".") || name.equals("..")) {
                    throw new EntryRejectedException("it is a whiteout for '" + name + "', which names no file");
                }
                String hidden = parent.isEmpty() ? name : parent + "/" + name;
                if (recordedWhiteouts != null) {
                    recordedWhiteouts.add("whiteout " + hidden); // applied to the lower layers when merged
                } else if (!written.contains(hidden)) { // whiteouts hide lower layers only
                    writer.remove(hidden);
                }
            }
            return true;
        }

        private void checkDeclaredSize(TarArchiveEntry entry) {
            if (entry.getSize() > limits.maxTotalBytes() - budget.bytes()) {
                throw tooLarge(entry);
            }
        }

        private void copy(InputStream tar, OutputStream out, TarArchiveEntry entry) throws IOException {
            while (true) {
                int read;
                try {
                    read = tar.read(buffer);
                } catch (IOException e) {
                    throw new ArchiveReadException(e);
                }
                if (read < 0) {
                    return;
                }
                bytes += read;
                if (budget.addBytes(read) > limits.maxTotalBytes()) {
                    throw tooLarge(entry);
                }
                out.write(buffer, 0, read);
            }
        }

        private ImageUnpackException tooLarge(TarArchiveEntry entry) {
            return new ImageUnpackException("Image " + image + " holds more than " + limits.maxTotalBytes()
                    + " bytes of file content (reached at entry '" + entry.getName()
                    + "'); if it is trusted, raise the "
                    + "limit with -D" + UnpackLimits.MAX_TOTAL_BYTES_PROPERTY + "=BYTES");
        }
    }

    private static boolean isRegularFile(TarArchiveEntry entry) {
        byte flag = entry.getLinkFlag();
        return flag == TarConstants.LF_NORMAL
                || flag == TarConstants.LF_OLDNORM
                || flag == TarConstants.LF_CONTIG
                || entry.isSparse();
    }

    /**
     * A tar reader that bounds what it reads to parse one entry's headers: the extended headers before it (PAX,
     * GNU long names and links) and an old GNU or PAX 1.0 sparse map. Commons Compress reads each of those into
     * memory whole and follows a chain of them by recursion, so a small compressed layer could otherwise exhaust
     * the heap or the stack. Global PAX headers, which apply to every later entry, are bounded over the archive.
     */
    static final class BoundedTarInputStream extends TarArchiveInputStream {

        /** The most bytes read to parse one entry's headers; names and attributes need far less. */
        static final int MAX_HEADER_BYTES = 1024 * 1024;
        /** The most bytes of global PAX headers in one archive (git archive writes one of 52 bytes). */
        static final int MAX_GLOBAL_HEADER_BYTES = 16 * 1024;
        /** The most headers read for one entry: its own and the extended ones chained before it. */
        static final int MAX_HEADERS = 32;

        private int depth;
        /**
         * Whether the outermost {@link #getNextEntry} has read a header record yet: before it, it only skips what is
         * left of the previous entry's data, which is no header.
         */
        private boolean headerStarted;

        private long headerBytes;
        private long globalHeaderBytes;

        BoundedTarInputStream(InputStream in) {
            super(in, "UTF-8"); // as Docker writes names, and PAX always; not the locale's charset
        }

        @Override
        public TarArchiveEntry getNextEntry() throws IOException {
            if (depth == 0) {
                headerBytes = 0;
                headerStarted = false;
            }
            if (depth >= MAX_HEADERS) {
                throw new HeaderLimitException("an entry comes after more than " + (MAX_HEADERS - 1)
                        + " extended headers (PAX, GNU long names) in a row; an archive needs a few at most, so it"
                        + " is corrupt or hostile");
            }
            depth++;
            try {
                return super.getNextEntry();
            } finally {
                depth--;
            }
        }

        @Override
        protected byte[] readRecord() throws IOException {
            byte[] record = super.readRecord();
            headerStarted = true;
            if (record != null) {
                countHeader(record.length);
            }
            return record;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int read = super.read(buffer, offset, length);
            if (read > 0 && depth > 0 && headerStarted) { // an extended header's data or a sparse map
                countHeader(read);
                TarArchiveEntry current = getCurrentEntry();
                if (current != null && current.isGlobalPaxHeader()) {
                    globalHeaderBytes += read;
                    if (globalHeaderBytes > MAX_GLOBAL_HEADER_BYTES) {
                        throw new HeaderLimitException("its global PAX headers have more than "
                                + MAX_GLOBAL_HEADER_BYTES + " bytes; an archive needs a few at most, so it is"
                                + " corrupt or hostile");
                    }
                }
            }
            return read;
        }

        private void countHeader(int bytes) throws HeaderLimitException {
            headerBytes += bytes;
            if (headerBytes > MAX_HEADER_BYTES) {
                throw new HeaderLimitException("the headers of an entry (PAX extended headers, GNU long names,"
                        + " a sparse map) have more than " + MAX_HEADER_BYTES + " bytes; no name or attribute needs"
                        + " that many, so it is corrupt or hostile");
            }
        }
    }

    /** An entry's headers are larger or more numerous than any real archive's. */
    static final class HeaderLimitException extends IOException {

        HeaderLimitException(String message) {
            super(message);
        }

        /** {@code e} or its first cause of this type, or {@code null}. */
        static HeaderLimitException in(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof HeaderLimitException limit) {
                    return limit;
                }
            }
            return null;
        }
    }

    /** Reading the archive failed (as opposed to writing the rootfs). */
    private static final class ArchiveReadException extends IOException {

        ArchiveReadException(IOException cause) {
            super(cause);
        }
    }

    /** Counts the bytes read through it; no mark/reset, so the tar reader never reads ahead and rewinds. */
    private static final class PositionInputStream extends FilterInputStream {

        private long position;

        PositionInputStream(InputStream in) {
            super(in);
        }

        long position() {
            return position;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                position++;
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int read = super.read(buffer, offset, length);
            if (read > 0) {
                position += read;
            }
            return read;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(n);
            position += skipped;
            return skipped;
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        @Override
        public void close() {
            // The decompressed stream is closed by its own try-with-resources.
        }
    }

    /** Keeps the caller's stream open when the decompressor and tar reader are closed. */
    private static final class CloseShield extends FilterInputStream {

        private final ByteCounter progress;

        CloseShield(InputStream in, ByteCounter progress) {
            super(in);
            this.progress = progress;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                progress.add(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int read = super.read(buffer, offset, length);
            if (read > 0) {
                progress.add(read);
            }
            return read;
        }

        @Override
        public void close() {
            // The caller owns the stream.
        }
    }
}
