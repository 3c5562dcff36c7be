package dev.isolated.images.build;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Compiles the program of {@code hello.tar} with the host's gcc into a statically linked executable.
 */
public final class HelloCompiler {

    /** The compiler flags; {@code -static} so the image needs no libc. */
    public static final List<String> FLAGS = List.of("-static", "-O2", "-Wall", "-Werror");

    private static final String INSTALL_HINT = "Install gcc and the static C library: on Debian/Ubuntu the package gcc "
            + "(apt-get install gcc; it brings libc6-dev, which provides libc.a for -static).";

    private final Path gcc;

    private HelloCompiler(Path gcc) {
        this.gcc = gcc;
    }

    /**
     * Finds {@code gcc} on the {@code PATH} of {@code environment}.
     *
     * @throws ImageBuildException if there is none
     */
    public static HelloCompiler onPath(Map<String, String> environment) {
        String path = environment.getOrDefault("PATH", "");
        Optional<Path> gcc = Stream.of(path.split(File.pathSeparator))
                .filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, "gcc"))
                .filter(Files::isExecutable)
                .findFirst();
        return new HelloCompiler(gcc.orElseThrow(() -> new ImageBuildException(
                "gcc not found on PATH (" + path + "); it compiles hello.tar's program. " + INSTALL_HINT)));
    }

    /**
     * Compiles {@code source} into {@code output} (parent directories are created) and checks that the
     * result is statically linked.
     *
     * <p>gcc runs in the source's directory with the bare file name, so the checkout's location does not
     * end up in the binary and the output stays the same wherever the project is built.
     *
     * @throws ImageBuildException if compilation fails or the result is not statically linked
     */
    public Path compile(Path source, Path output) {
        Path absoluteSource = source.toAbsolutePath();
        Path absoluteOutput = output.toAbsolutePath();
        if (!Files.isRegularFile(absoluteSource)) {
            throw new ImageBuildException("Source of hello.tar's program not found: " + absoluteSource);
        }
        try {
            Files.createDirectories(absoluteOutput.getParent());
            List<String> command = Stream.of(
                            Stream.of(gcc.toString()),
                            FLAGS.stream(),
                            Stream.of(
                                    "-o",
                                    absoluteOutput.toString(),
                                    absoluteSource.getFileName().toString()))
                    .flatMap(s -> s)
                    .toList();
            Command.run(command, absoluteSource.getParent(), INSTALL_HINT);
            if (ElfFile.read(absoluteOutput).hasInterpreter()) {
                throw new ImageBuildException(gcc + " " + String.join(" ", FLAGS) + " produced a dynamically linked "
                        + absoluteOutput + "; the image has no libc to load it. " + INSTALL_HINT);
            }
            return absoluteOutput;
        } catch (IOException e) {
            throw new ImageBuildException("Cannot compile " + absoluteSource + " into " + absoluteOutput + ": " + e, e);
        }
    }
}
