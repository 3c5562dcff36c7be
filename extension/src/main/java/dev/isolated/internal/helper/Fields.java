package dev.isolated.internal.helper;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The record payload of a helper frame: an ordered list of {@code key=value} strings, each
 * NUL-terminated on the wire (see native/PROTOCOL.md). Keys may repeat ({@code arg}, {@code envvar}).
 */
public final class Fields {
    private final List<String[]> entries = new ArrayList<>();

    /** @return an empty record */
    public static Fields of() {
        return new Fields();
    }

    /**
     * Appends one field.
     *
     * @param key the key, without {@code '='} or NUL
     * @param value the value, without NUL
     * @return this record
     */
    public Fields add(String key, String value) {
        if (key.indexOf('=') >= 0 || key.indexOf('\0') >= 0 || value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("A NUL byte cannot be passed to the helper: " + key + "=" + value);
        }
        entries.add(new String[] {key, value});
        return this;
    }

    /**
     * @param key the key
     * @return the first value of {@code key}
     */
    public Optional<String> get(String key) {
        for (String[] e : entries) {
            if (e[0].equals(key)) {
                return Optional.of(e[1]);
            }
        }
        return Optional.empty();
    }

    /**
     * @param key the key
     * @return the first value of {@code key}, or an empty string
     */
    public String getOrEmpty(String key) {
        return get(key).orElse("");
    }

    byte[] encode() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String[] e : entries) {
            out.writeBytes((e[0] + "=" + e[1]).getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    static Fields decode(byte[] payload) {
        Fields fields = new Fields();
        int start = 0;
        for (int i = 0; i < payload.length; i++) {
            if (payload[i] == 0) {
                String s = new String(payload, start, i - start, StandardCharsets.UTF_8);
                int eq = s.indexOf('=');
                fields.entries.add(
                        eq < 0 ? new String[] {s, ""} : new String[] {s.substring(0, eq), s.substring(eq + 1)});
                start = i + 1;
            }
        }
        return fields;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{");
        for (String[] e : entries) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(e[0]).append('=').append(e[1]);
        }
        return sb.append('}').toString();
    }
}
