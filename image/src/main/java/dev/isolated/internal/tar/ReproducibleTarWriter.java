package dev.isolated.internal.tar;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes image entries as a POSIX tar whose bytes depend only on the entries and the mtime: every
 * entry is owned by {@code root:root} (0:0), has the same mtime and the mode it was given, and the
 * entries are written in the order given (the images build sorts them).
 *
 * <p>Headers are ustar; a name or link target that is longer than 100 bytes or not ASCII goes in a
 * PAX extended header ({@code path}, {@code linkpath}) before the entry. The archive ends with two
 * zero blocks and is padded to a multiple of 10240 bytes, as GNU tar and Commons Compress do.
 */
public final class ReproducibleTarWriter {

    static final int BLOCK = 512;
    /** A written tar is a whole number of these: 10240 bytes. */
    public static final int RECORD = 20 * BLOCK;

    private static final int NAME_LENGTH = 100;

    private final long mtimeSeconds;

    /**
     * @param mtime the mtime of every entry, whole seconds since the epoch (no fraction is written)
     */
    public ReproducibleTarWriter(Instant mtime) {
        if (mtime.getEpochSecond() < 0) {
            throw new IllegalArgumentException("Image mtime must not be before 1970: " + mtime);
        }
        this.mtimeSeconds = mtime.getEpochSecond();
    }

    /** Writes {@code entries} as one archive to {@code out}; does not close it. */
    public void write(List<ImageEntry> entries, OutputStream out) throws IOException {
        long written = 0;
        for (ImageEntry entry : entries) {
            written += writeEntry(entry, out);
        }
        byte[] end = new byte[2 * BLOCK];
        out.write(end);
        written += end.length;
        out.write(new byte[(int) ((RECORD - written % RECORD) % RECORD)]);
    }

    private long writeEntry(ImageEntry entry, OutputStream out) throws IOException {
        long written = 0;
        Map<String, String> pax = new LinkedHashMap<>();
        if (!fitsUstar(entry.name())) {
            pax.put("path", entry.name());
        }
        if (entry.linkTarget() != null && !fitsUstar(entry.linkTarget())) {
            pax.put("linkpath", entry.linkTarget());
        }
        if (!pax.isEmpty()) {
            byte[] records = paxRecords(pax);
            out.write(header(paxHeaderName(entry), 0644, records.length, 'x', ""));
            written += BLOCK + writePadded(records, out);
        }
        char type = switch (entry.type()) {
            case DIRECTORY -> '5';
            case FILE -> '0';
            case SYMLINK -> '2';
        };
        String link = entry.linkTarget() == null ? "" : entry.linkTarget();
        out.write(header(entry.name(), entry.mode(), entry.content().length, type, link));
        return written + BLOCK + writePadded(entry.content(), out);
    }

    private byte[] header(String name, int mode, long size, char type, String linkName) {
        byte[] header = new byte[BLOCK];
        putString(header, 0, NAME_LENGTH, name);
        putOctal(header, 100, 8, mode & 07777);
        putOctal(header, 108, 8, 0); // uid
        putOctal(header, 116, 8, 0); // gid
        putOctal(header, 124, 12, size);
        putOctal(header, 136, 12, mtimeSeconds);
        header[156] = (byte) type;
        putString(header, 157, NAME_LENGTH, linkName);
        putString(header, 257, 6, "ustar"); // NUL-terminated magic
        putString(header, 263, 2, "00");
        putString(header, 265, 32, "root");
        putString(header, 297, 32, "root");
        putOctal(header, 329, 8, 0); // devmajor
        putOctal(header, 337, 8, 0); // devminor
        // The checksum is computed with its own field as spaces, then written as 6 digits, NUL, space.
        Arrays.fill(header, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : header) {
            sum += b & 0xff;
        }
        putOctal(header, 148, 7, sum);
        header[154] = 0;
        header[155] = ' ';
        return header;
    }

    /** A deterministic name for a PAX header, like GNU tar's {@code PaxHeaders/NAME} without the pid. */
    private static String paxHeaderName(ImageEntry entry) {
        String path = entry.path();
        String base = path.substring(path.lastIndexOf('/') + 1).replaceAll("[^ -~]", "_");
        String name = "PaxHeaders/" + base;
        return name.length() > NAME_LENGTH ? name.substring(0, NAME_LENGTH) : name;
    }

    /** Records "LEN key=value\n" where LEN counts the whole record, its own digits included. */
    private static byte[] paxRecords(Map<String, String> values) {
        ByteArrayOutputStream records = new ByteArrayOutputStream();
        values.forEach((key, value) -> {
            int payload = (" " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8).length;
            int length = payload + Integer.toString(payload).length();
            if (Integer.toString(length).length() != Integer.toString(payload).length()) {
                length++;
            }
            records.writeBytes((length + " " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8));
        });
        return records.toByteArray();
    }

    private static boolean fitsUstar(String value) {
        return value.length() <= NAME_LENGTH && value.chars().allMatch(c -> c >= 0x20 && c < 0x7f);
    }

    private static long writePadded(byte[] data, OutputStream out) throws IOException {
        out.write(data);
        int padding = (BLOCK - data.length % BLOCK) % BLOCK;
        out.write(new byte[padding]);
        return data.length + padding;
    }

    private static void putString(byte[] header, int offset, int length, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(bytes, 0, header, offset, Math.min(bytes.length, length));
    }

    /** Zero-padded octal digits filling {@code length - 1} bytes, then NUL. */
    private static void putOctal(byte[] header, int offset, int length, long value) {
        String digits = Long.toOctalString(value);
        if (digits.length() > length - 1) {
            throw new IllegalArgumentException(
                    "Value " + value + " does not fit a " + length + "-byte tar header field");
        }
        putString(header, offset, length - 1, "0".repeat(length - 1 - digits.length()) + digits);
    }
}
