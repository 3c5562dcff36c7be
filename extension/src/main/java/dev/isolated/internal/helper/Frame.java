package dev.isolated.internal.helper;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.Locale;
import java.util.Optional;

/**
 * One message between the JVM and the helper: {@code u32 length, u8 type, u32 id, payload}, big-endian
 * (see native/PROTOCOL.md).
 *
 * @param type the frame type
 * @param id the request, environment or process id the frame is about
 * @param payload the record or data bytes
 */
public record Frame(FrameType type, int id, byte[] payload) {
    /** The largest frame the helper accepts: its {@code length} field (1 + 4 + payload) at most 1 MiB. */
    public static final int MAX_LENGTH = 1 << 20;

    static final int MAX_PAYLOAD = MAX_LENGTH - 5;

    /**
     * @param type the frame type
     * @param id the id
     * @param fields the record payload
     * @return a frame carrying {@code fields}
     */
    public static Frame of(FrameType type, int id, Fields fields) {
        return new Frame(type, id, fields.encode());
    }

    /** @return the frame's {@code length} field: type, id and payload, in bytes */
    public int length() {
        return 5 + payload.length;
    }

    /** @return the payload decoded as a record */
    public Fields fields() {
        return Fields.decode(payload);
    }

    void writeTo(DataOutputStream out) throws IOException {
        out.writeInt(5 + payload.length);
        out.writeByte(type.letter());
        out.writeInt(id);
        out.write(payload);
    }

    /**
     * Reads one frame.
     *
     * @param in the helper's stdout
     * @return the frame, or {@code null} at a clean end of stream
     * @throws IOException when the stream breaks off inside a frame or a frame is malformed (a length out of
     *     bounds, a type PROTOCOL.md does not have)
     */
    static Frame readFrom(DataInputStream in) throws IOException {
        int length;
        try {
            length = in.readInt();
        } catch (EOFException e) {
            return null;
        }
        if (length < 5 || length > MAX_PAYLOAD + 5) {
            throw new IOException("Malformed frame from the isolated helper: length " + length);
        }
        char letter = (char) in.readUnsignedByte();
        int id = in.readInt();
        byte[] payload = new byte[length - 5];
        in.readFully(payload);
        Optional<FrameType> type = FrameType.ofLetter(letter); // not orElseThrow(lambda): on every frame's path
        if (type.isEmpty()) {
            throw new IOException(String.format(
                    Locale.ROOT, "Malformed frame from the isolated helper: unknown type 0x%02x", (int) letter));
        }
        return new Frame(type.get(), id, payload);
    }

    @Override
    public String toString() {
        return "Frame[" + type.letter() + " #" + id + " " + payload.length + " bytes]";
    }
}
