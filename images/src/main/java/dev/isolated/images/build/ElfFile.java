package dev.isolated.images.build;

import dev.isolated.internal.elf.ElfInterpreter;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Whether an ELF file is statically linked: a program with a {@code PT_INTERP} program header needs a dynamic
 * loader, one without it runs on its own. Read by {@link ElfInterpreter}, the extension's ELF reader.
 */
public final class ElfFile {

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
        try {
            return new ElfFile(path, ElfInterpreter.of(path) != null);
        } catch (IllegalArgumentException e) {
            throw new ImageBuildException(e.getMessage(), e);
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
}
