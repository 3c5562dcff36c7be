package dev.isolated.internal.image;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;

/**
 * The compression of an image archive or layer, told by its first bytes rather than its name or media
 * type. gzip, xz and zstd are decoded (xz needs {@code org.tukaani:xz}, zstd {@code com.github.luben:zstd-jni},
 * both dependencies of this module); bzip2 is recognised only to give a helpful error.
 */
enum Compression {

    /** An uncompressed tar. */
    NONE("uncompressed", new byte[0]),
    /** gzip ({@code .tar.gz}, {@code .tgz}). */
    GZIP("gzip", new byte[] {0x1f, (byte) 0x8b}),
    /** xz ({@code .tar.xz}). */
    XZ("xz", new byte[] {(byte) 0xfd, '7', 'z', 'X', 'Z', 0}),
    /** Zstandard ({@code .tar.zst}, {@code tar+zstd} layers). */
    ZSTD("zstd", new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd}),
    /** bzip2 ({@code .tar.bz2}); not supported yet. */
    BZIP2("bzip2", new byte[] {'B', 'Z', 'h'});

    private static final int LONGEST_MAGIC = 6;

    private final String displayName;
    private final byte[] magic;

    Compression(String displayName, byte[] magic) {
        this.displayName = displayName;
        this.magic = magic;
    }

    /** Peeks at the first bytes of {@code in} without consuming them. */
    static Compression detect(BufferedInputStream in) throws IOException {
        in.mark(LONGEST_MAGIC);
        byte[] head = in.readNBytes(LONGEST_MAGIC);
        in.reset();
        for (Compression compression : values()) {
            if (compression != NONE
                    && head.length >= compression.magic.length
                    && Arrays.equals(
                            head, 0, compression.magic.length, compression.magic, 0, compression.magic.length)) {
                return compression;
            }
        }
        return NONE;
    }

    /**
     * The decompressed bytes of {@code in}.
     *
     * @throws ImageUnpackException naming the format if it is not supported yet
     */
    InputStream decompress(InputStream in, String image) throws IOException {
        return switch (this) {
            case NONE -> in;
            case GZIP ->
                GzipCompressorInputStream.builder()
                        .setInputStream(in)
                        .setDecompressConcatenated(true)
                        .get();
            case XZ ->
                XZCompressorInputStream.builder()
                        .setInputStream(in)
                        .setDecompressConcatenated(true)
                        .get();
            case ZSTD -> new ZstdCompressorInputStream(in);
            case BZIP2 ->
                throw new ImageUnpackException("Image " + image + " is " + displayName
                        + "-compressed, which is not supported. Decompress it first (bunzip2) or recompress it with gzip, "
                        + "xz or zstd.");
        };
    }

    /** The name for messages: {@code gzip}, {@code xz}, ... */
    String displayName() {
        return displayName;
    }
}
