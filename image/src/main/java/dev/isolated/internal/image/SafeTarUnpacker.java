package dev.isolated.internal.image;

import java.io.InputStream;
import java.nio.file.Path;

/**
 * Unpacks an image tar (uncompressed, gzip, xz or zstd, told by its magic bytes) into a directory,
 * refusing anything that would land outside it.
 *
 * <p>Refused, with an {@link ImageUnpackException} naming the image and the entry: absolute names and
 * names that climb out with {@code ..}; writes through a symlink (each parent is checked without
 * following links); hardlinks to anything but a file written earlier; an image whose {@code /dev} or
 * {@code /proc} is a symlink; more entries or file bytes than the {@link UnpackLimits} (data of entries that are not
 * written counts); an entry whose headers hold more than any real archive's (over 1 MiB of PAX headers, GNU long
 * names or sparse map, more than 31 extended headers in a row, over 16 KiB of global PAX headers), which the tar
 * reader would hold in memory; a name or link target (read as UTF-8) that the JVM's locale cannot encode in a file
 * name. A truncated or
 * corrupt archive fails naming the entry where it broke. Symlinks are stored verbatim, whatever they
 * point at. Device nodes are never created, not even as root (the sandbox mounts its own {@code /dev}):
 * each is skipped, whatever it replaces is removed, and it is reported in {@link UnpackResult#notes()}, as
 * are extended attributes, which are not applied.
 *
 * <p>The same rules hold for every layer of a layered image ({@link #startImage}).
 *
 * <p>On failure the target directory is left partly written; the caller deletes it ({@link ImageCache}
 * does).
 */
public final class SafeTarUnpacker {

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
        TarExtraction extraction = startImage(image, target);
        extraction.extractRootfs(archive);
        return extraction.finish();
    }

    /**
     * Starts writing an image into {@code target}, layer by layer or as one rootfs tar.
     *
     * @param image the image's name for messages
     * @param target an existing directory, normally empty
     */
    TarExtraction startImage(String image, Path target) {
        return new TarExtraction(limits, image, target);
    }

    /** The bounds this unpacker enforces. */
    UnpackLimits limits() {
        return limits;
    }
}
