package dev.isolated.internal.elf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads the {@code PT_INTERP} program header of an ELF executable: the dynamic loader it needs, if
 * any. A program without one is statically linked and runs in an image that holds nothing else.
 */
public final class ElfInterpreter {

    private static final int PT_INTERP = 3;
    private static final int MAX_INTERPRETER_LENGTH = 4096;

    private ElfInterpreter() {}

    /**
     * The loader {@code file} asks for, e.g. {@code /lib64/ld-linux-x86-64.so.2}, or {@code null} when it
     * is statically linked.
     *
     * @throws IllegalArgumentException if the file is not an ELF executable or its headers are cut short
     */
    public static String of(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            if (channel.size() < 4 || read(channel, 0, 4, file).getInt(0) != 0x7f454c46) { // "\177ELF", big-endian
                throw new IllegalArgumentException(file + " is not an ELF executable (no \\177ELF magic)");
            }
            ByteBuffer header = read(channel, 0, 64, file);
            ByteOrder order = switch (header.get(5)) {
                case 1 -> ByteOrder.LITTLE_ENDIAN;
                case 2 -> ByteOrder.BIG_ENDIAN;
                default -> throw new IllegalArgumentException(file + " has an unknown ELF byte order " + header.get(5));
            };
            header.order(order);
            boolean wide = switch (header.get(4)) {
                case 2 -> true;
                case 1 -> false;
                default -> throw new IllegalArgumentException(file + " has an unknown ELF class " + header.get(4));
            };
            long tableOffset = wide ? header.getLong(0x20) : Integer.toUnsignedLong(header.getInt(0x1c));
            int entrySize = Short.toUnsignedInt(header.getShort(wide ? 0x36 : 0x2a));
            int entryCount = Short.toUnsignedInt(header.getShort(wide ? 0x38 : 0x2c));
            for (int i = 0; i < entryCount; i++) {
                ByteBuffer entry = read(channel, tableOffset + (long) i * entrySize, wide ? 56 : 32, file)
                        .order(order);
                if (entry.getInt(0) == PT_INTERP) {
                    long offset = wide ? entry.getLong(8) : Integer.toUnsignedLong(entry.getInt(4));
                    long size = wide ? entry.getLong(32) : Integer.toUnsignedLong(entry.getInt(16));
                    int length = (int) Math.min(Math.max(size, 0), MAX_INTERPRETER_LENGTH);
                    ByteBuffer name = read(channel, offset, length, file);
                    String interpreter = new String(name.array(), 0, length, StandardCharsets.UTF_8);
                    int nul = interpreter.indexOf('\0');
                    return nul < 0 ? interpreter : interpreter.substring(0, nul);
                }
            }
            return null;
        }
    }

    private static ByteBuffer read(FileChannel channel, long position, int length, Path file) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new IllegalArgumentException(
                        file + " is truncated: its ELF headers end before byte " + (position + length));
            }
        }
        return buffer.flip();
    }
}
