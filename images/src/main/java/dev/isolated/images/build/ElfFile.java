package dev.isolated.images.build;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads just enough of an ELF file to tell whether it is statically linked: a program with a
 * {@code PT_INTERP} program header needs a dynamic loader, one without it runs on its own.
 */
public final class ElfFile {

    private static final int PT_INTERP = 3;
    private static final byte ELFCLASS32 = 1;
    private static final byte ELFCLASS64 = 2;
    private static final byte ELFDATA2LSB = 1;
    private static final byte ELFDATA2MSB = 2;

    private final Path path;
    private final boolean hasInterpreter;

    private ElfFile(Path path, boolean hasInterpreter) {
        this.path = path;
        this.hasInterpreter = hasInterpreter;
    }

    /**
     * Reads the ELF header and program headers of {@code path}.
     *
     * @throws ImageBuildException if the file is not an ELF file or is truncated
     * @throws IOException if the file cannot be read
     */
    public static ElfFile read(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer header = readAt(channel, 0, 64, path);
            if (header.getInt(0) != 0x7f454c46) { // "\177ELF", read big-endian
                throw new ImageBuildException(path + " is not an ELF executable (no \\177ELF magic)");
            }
            header.order(byteOrder(header.get(5), path));
            byte elfClass = header.get(4);
            long programHeaderOffset;
            int programHeaderSize;
            int programHeaderCount;
            if (elfClass == ELFCLASS64) {
                programHeaderOffset = header.getLong(0x20);
                programHeaderSize = Short.toUnsignedInt(header.getShort(0x36));
                programHeaderCount = Short.toUnsignedInt(header.getShort(0x38));
            }
            else if (elfClass == ELFCLASS32) {
                programHeaderOffset = Integer.toUnsignedLong(header.getInt(0x1c));
                programHeaderSize = Short.toUnsignedInt(header.getShort(0x2a));
                programHeaderCount = Short.toUnsignedInt(header.getShort(0x2c));
            }
            else {
                throw new ImageBuildException(path + " has an unknown ELF class " + elfClass);
            }
            if (programHeaderSize < 4) {
                throw new ImageBuildException(path + " has a corrupt ELF header (program header size " + programHeaderSize + ")");
            }
            boolean interpreter = false;
            for (int i = 0; i < programHeaderCount && !interpreter; i++) {
                ByteBuffer type = readAt(channel, programHeaderOffset + (long) i * programHeaderSize, 4, path);
                interpreter = type.order(header.order()).getInt(0) == PT_INTERP;
            }
            return new ElfFile(path, interpreter);
        }
    }

    /** Whether the program names a dynamic loader ({@code PT_INTERP}), i.e. is dynamically linked. */
    public boolean hasInterpreter() {
        return hasInterpreter;
    }

    /** Whether the program runs without a dynamic loader. */
    public boolean isStaticallyLinked() {
        return !hasInterpreter;
    }

    /** The file that was read. */
    public Path path() {
        return path;
    }

    private static ByteOrder byteOrder(byte data, Path path) {
        if (data == ELFDATA2LSB) {
            return ByteOrder.LITTLE_ENDIAN;
        }
        if (data == ELFDATA2MSB) {
            return ByteOrder.BIG_ENDIAN;
        }
        throw new ImageBuildException(path + " has an unknown ELF data encoding " + data);
    }

    private static ByteBuffer readAt(FileChannel channel, long position, int length, Path path) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new ImageBuildException(path + " is truncated: its ELF headers end before byte " + (position + length));
            }
        }
        return buffer.flip();
    }
}
