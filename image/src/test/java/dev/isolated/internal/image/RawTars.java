package dev.isolated.internal.image;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Tars written record by record, for what {@link TestTars} (Commons Compress) does not write: extended headers
 * chained, huge or global, and data on entries that have none. ustar headers, owned by root, mode 0644.
 */
final class RawTars {

    private static final int RECORD = 512;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private RawTars() {}

    /** A new, empty archive. */
    static RawTars raw() {
        return new RawTars();
    }

    /** An entry of type {@code type} ({@code '0'} a file, {@code 'L'} a GNU long name, ...) holding {@code data}. */
    RawTars entry(String name, char type, byte[] data) {
        out.writeBytes(header(name, type, data.length));
        out.writeBytes(data);
        out.writeBytes(new byte[(RECORD - data.length % RECORD) % RECORD]);
        return this;
    }

    /** A PAX header ({@code 'x'} for the next entry, {@code 'g'} global) with one record. */
    RawTars pax(char type, String key, String value) {
        return entry("PaxHeaders/x", type, record(key, value));
    }

    /** The finished archive: the entries, then the two zero records that end it. */
    byte[] bytes() {
        out.writeBytes(new byte[2 * RECORD]);
        return out.toByteArray();
    }

    /** {@code <length> key=value\n}, the length counting itself. */
    static byte[] record(String key, String value) {
        int rest = key.length() + value.length() + 2; // '=' and '\n'; ASCII only
        int length = rest + 1;
        while (String.valueOf(length).length() + 1 + rest != length) {
            length++;
        }
        return (length + " " + key + "=" + value + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] header(String name, char type, long size) {
        byte[] header = new byte[RECORD];
        put(header, 0, 100, name.getBytes(StandardCharsets.UTF_8));
        octal(header, 100, 8, 0644);
        octal(header, 108, 8, 0);
        octal(header, 116, 8, 0);
        octal(header, 124, 12, size);
        octal(header, 136, 12, TestTars.MTIME.getEpochSecond());
        header[156] = (byte) type;
        put(header, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
        put(header, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
        java.util.Arrays.fill(header, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : header) {
            sum += b & 0xff;
        }
        octal(header, 148, 7, sum);
        return header;
    }

    private static void octal(byte[] header, int offset, int length, long value) {
        String digits = String.format("%0" + (length - 1) + "o", value);
        put(header, offset, length, (digits + "\0").getBytes(StandardCharsets.US_ASCII));
    }

    private static void put(byte[] header, int offset, int length, byte[] value) {
        if (value.length > length) {
            throw new IllegalArgumentException("does not fit in " + length + " bytes: " + new String(value));
        }
        System.arraycopy(value, 0, header, offset, value.length);
    }
}
