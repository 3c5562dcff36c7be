package dev.isolated.internal.image;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Unpacks an image tar (uncompressed or gzip, told by its magic bytes) into a directory, refusing
 * anything that would land outside it.
 *
 * <p>Refused, with an {@link ImageUnpackException} naming the image and the entry: absolute names and
 * names that climb out with {@code ..}; writes through a symlink (each parent is checked without
 * following links); hardlinks to anything but a file written earlier; an image whose {@code /dev} or
 * {@code /proc} is a symlink; more entries or file bytes than the {@link UnpackLimits}. A truncated or
 * corrupt archive fails naming the entry where it broke. Symlinks are stored verbatim, whatever they
 * point at. Device nodes are skipped (the sandbox mounts its own {@code /dev}) and reported in
 * {@link UnpackResult#notes()}, as are extended attributes, which are not applied.
 *
 * <p>On failure the target directory is left partly written; the caller deletes it ({@link ImageCache}
 * does).
 */
public final class SafeTarUnpacker {

    private static final int BUFFER_SIZE = 64 * 1024;

    private final UnpackLimits limits;

    /**
     * @param limits the bounds on entries and bytes
     */
    public SafeTarUnpacker(UnpackLimits limits) {
        this.limits = limits;
    }

    /** An unpacker with {@link UnpackLimits#fromSystemProperties()}. */
    public SafeTarUnpacker() {
        this(UnpackLimits.fromSystemProperties());
    }

    /**
     * Unpacks the archive read from {@code archive} (which is not closed) into {@code target}.
     *
     * @param image the image's name for messages, e.g. {@code busybox.tar}
     * @param target an existing directory, normally empty
     * @return counts and notes on what was skipped
     * @throws ImageUnpackException if the archive is unsafe, corrupt, unsupported or too large, or an
     *     entry cannot be written
     */
    public UnpackResult unpack(InputStream archive, String image, Path target) {
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("Unpack target " + target + " is not an existing directory");
        }
        boolean root = PosixCalls.isRoot();
        Extraction extraction = new Extraction(image, new RootfsWriter(target, root));
        if (!root) {
            extraction.notes.add("Image " + image + ": not running as root, so files belong to the current user and "
                    + "set-uid/set-gid bits are dropped");
        }
        BufferedInputStream buffered = new BufferedInputStream(new CloseShield(archive), BUFFER_SIZE);
        try (InputStream decompressed = Compression.detect(buffered).decompress(buffered, image);
                TarArchiveInputStream tar = new TarArchiveInputStream(decompressed)) {
            extraction.run(tar);
            extraction.verifyTrailer(decompressed);
        }
        catch (IOException e) {
            throw new ImageUnpackException("Cannot read image " + image + ": " + e.getMessage(), e);
        }
        return new UnpackResult(extraction.entries, extraction.bytes, extraction.notes);
    }

    /** The state of one unpack. */
    private final class Extraction {

        private final String image;
        private final RootfsWriter writer;
        private final List<String> notes = new ArrayList<>();
        private long entries;
        private long bytes;
        private long extendedAttributes;
        private String previous;

        Extraction(String image, RootfsWriter writer) {
            this.image = image;
            this.writer = writer;
        }

        void run(TarArchiveInputStream tar) {
            for (TarArchiveEntry entry = next(tar); entry != null; entry = next(tar)) {
                if (++entries > limits.maxEntries()) {
                    throw new ImageUnpackException("Image " + image + " has more than " + limits.maxEntries()
                            + " entries (stopped at '" + entry.getName() + "'); if it is trusted, raise the limit with -D"
                            + UnpackLimits.MAX_ENTRIES_PROPERTY + "=N");
                }
                try {
                    apply(entry, tar);
                }
                catch (EntryRejectedException e) {
                    throw new ImageUnpackException("Image " + image + ": entry '" + entry.getName() + "' is refused: "
                            + e.getMessage(), e);
                }
                catch (ArchiveReadException e) {
                    throw new ImageUnpackException("Image " + image + " is truncated or corrupt in entry '"
                            + entry.getName() + "': " + e.getCause().getMessage(), e.getCause());
                }
                catch (IOException e) {
                    throw new ImageUnpackException("Cannot write entry '" + entry.getName() + "' of image " + image
                            + ": " + e, e);
                }
                previous = entry.getName();
            }
            if (entries == 0) {
                throw new ImageUnpackException("Image " + image + " holds no entries; is it a tar archive?");
            }
            try {
                writer.finish();
            }
            catch (EntryRejectedException e) {
                throw new ImageUnpackException("Image " + image + " is refused: " + e.getMessage(), e);
            }
            catch (IOException e) {
                throw new ImageUnpackException("Cannot set directory modes of image " + image + ": " + e, e);
            }
            if (extendedAttributes > 0) {
                notes.add("Image " + image + ": " + extendedAttributes + " extended attribute(s) (e.g. file capabilities) "
                        + "were not applied");
            }
        }

        /** Reads the rest of the compressed stream, so gzip checks its CRC and length. */
        void verifyTrailer(InputStream decompressed) {
            try {
                decompressed.transferTo(OutputStream.nullOutputStream());
            }
            catch (IOException e) {
                throw new ImageUnpackException("Image " + image + " is corrupt after its last entry '" + previous + "': "
                        + e.getMessage(), e);
            }
        }

        private TarArchiveEntry next(TarArchiveInputStream tar) {
            TarArchiveEntry entry;
            try {
                entry = tar.getNextEntry();
            }
            catch (IOException e) {
                throw new ImageUnpackException("Image " + image + " is truncated or corrupt " + where() + ": "
                        + e.getMessage(), e);
            }
            // Commons Compress does not verify header checksums; a damaged header must not become an entry.
            if (entry != null && !entry.isCheckSumOK()) {
                throw new ImageUnpackException("Image " + image + " is truncated or corrupt " + where()
                        + ": the next header (name '" + entry.getName() + "') has a wrong checksum");
            }
            return entry;
        }

        private String where() {
            return previous == null ? "at its first entry" : "after entry '" + previous + "'";
        }

        private void apply(TarArchiveEntry entry, InputStream tar) throws IOException {
            String relative = EntryNames.normalize(entry.getName(), "name");
            RootfsWriter.Metadata metadata = new RootfsWriter.Metadata(entry.getMode() & 07777, entry.getLongUserId(),
                    entry.getLongGroupId(), entry.getLastModifiedTime());
            extendedAttributes += entry.getExtraPaxHeaders().keySet().stream()
                    .filter(key -> key.startsWith("SCHILY.xattr.") || key.startsWith("LIBARCHIVE.xattr."))
                    .count();
            if (entry.isDirectory()) {
                writer.directory(relative, metadata);
            }
            else if (entry.isSymbolicLink()) {
                writer.symlink(relative, entry.getLinkName(), metadata);
            }
            else if (entry.isLink()) {
                writer.hardlink(relative, EntryNames.normalize(entry.getLinkName(), "hardlink target"));
            }
            else if (entry.isCharacterDevice() || entry.isBlockDevice()) {
                notes.add("Image " + image + ": skipped " + (entry.isCharacterDevice() ? "character" : "block")
                        + " device '" + entry.getName() + "' (" + entry.getDevMajor() + ":" + entry.getDevMinor()
                        + "); the sandbox mounts its own /dev");
            }
            else if (entry.isFIFO()) {
                writer.fifo(relative, metadata);
            }
            else if (isRegularFile(entry)) {
                checkDeclaredSize(entry);
                writer.file(relative, metadata, out -> copy(tar, out, entry));
            }
            else {
                notes.add("Image " + image + ": skipped entry '" + entry.getName() + "' of unsupported type '"
                        + (char) entry.getLinkFlag() + "'");
            }
        }

        private void checkDeclaredSize(TarArchiveEntry entry) {
            if (entry.getSize() > limits.maxTotalBytes() - bytes) {
                throw tooLarge(entry);
            }
        }

        private void copy(InputStream tar, OutputStream out, TarArchiveEntry entry) throws IOException {
            byte[] buffer = new byte[BUFFER_SIZE];
            while (true) {
                int read;
                try {
                    read = tar.read(buffer);
                }
                catch (IOException e) {
                    throw new ArchiveReadException(e);
                }
                if (read < 0) {
                    return;
                }
                bytes += read;
                if (bytes > limits.maxTotalBytes()) {
                    throw tooLarge(entry);
                }
                out.write(buffer, 0, read);
            }
        }

        private ImageUnpackException tooLarge(TarArchiveEntry entry) {
            return new ImageUnpackException("Image " + image + " holds more than " + limits.maxTotalBytes()
                    + " bytes of file content (reached at entry '" + entry.getName() + "'); if it is trusted, raise the "
                    + "limit with -D" + UnpackLimits.MAX_TOTAL_BYTES_PROPERTY + "=BYTES");
        }
    }

    private static boolean isRegularFile(TarArchiveEntry entry) {
        byte flag = entry.getLinkFlag();
        return flag == TarConstants.LF_NORMAL || flag == TarConstants.LF_OLDNORM || flag == TarConstants.LF_CONTIG
                || entry.isSparse();
    }

    /** Reading the archive failed (as opposed to writing the rootfs). */
    private static final class ArchiveReadException extends IOException {

        ArchiveReadException(IOException cause) {
            super(cause);
        }
    }

    /** Keeps the caller's stream open when the decompressor and tar reader are closed. */
    private static final class CloseShield extends FilterInputStream {

        CloseShield(InputStream in) {
            super(in);
        }

        @Override
        public void close() {
            // The caller owns the stream.
        }
    }
}
