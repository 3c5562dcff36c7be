package dev.isolated.internal.env;

import dev.isolated.internal.os.InRootFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * An environment's files as the JVM reads and writes them: every path resolved inside the environment's root
 * ({@link InRootFiles}, through its init's {@code /proc/<pid>/root}); failures are unchecked, naming the
 * operation and the path.
 */
final class EnvironmentFiles {
    private final long initHostPid;
    private final Runnable ensureOpen;

    /**
     * @param initHostPid the host pid of the environment's init
     * @param ensureOpen throws when the environment is closed, before each operation
     */
    EnvironmentFiles(long initHostPid, Runnable ensureOpen) {
        this.initHostPid = initHostPid;
        this.ensureOpen = ensureOpen;
    }

    String readString(String path) {
        return new String(apply(f -> f.read(path), "read " + path), StandardCharsets.UTF_8);
    }

    Optional<String> readIfExists(String path) {
        return apply(
                f -> {
                    try {
                        return Optional.of(new String(f.read(path), StandardCharsets.UTF_8));
                    } catch (NoSuchFileException e) {
                        return Optional.<String>empty();
                    }
                },
                "read " + path);
    }

    /**
     * Rewrites an existing regular file through TRANSFORM; a symlink at the path is not followed (refused, as
     * anything but a regular file is).
     */
    void rewriteNoFollow(String path, UnaryOperator<String> transform) {
        apply(
                f -> {
                    String before = new String(f.readNoFollow(path), StandardCharsets.UTF_8);
                    String after = transform.apply(before);
                    if (!after.equals(before)) {
                        f.writeNoFollow(path, after.getBytes(StandardCharsets.UTF_8), 0644);
                    }
                    return null;
                },
                "rewrite " + path);
    }

    /** Creates missing parent directories, then the file (mode 0644). */
    void writeString(String path, String content) {
        apply(
                f -> {
                    f.createDirectories(parentOf(path));
                    f.write(path, content.getBytes(StandardCharsets.UTF_8), 0644);
                    return null;
                },
                "write " + path);
    }

    /** Creates missing parent directories of the target, then copies. */
    void copyIn(Path hostSource, String target) {
        apply(
                f -> {
                    f.createDirectories(parentOf(target));
                    f.copyIn(hostSource, target);
                    return null;
                },
                "copy " + hostSource + " into the environment at " + target);
    }

    void copyOut(String source, Path hostTarget) {
        apply(
                f -> {
                    f.copyOut(source, hostTarget);
                    return null;
                },
                "copy " + source + " out of the environment to " + hostTarget);
    }

    boolean exists(String path) {
        return apply(f -> f.exists(path), "look up " + path);
    }

    private static String parentOf(String path) {
        String trimmed = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        int slash = trimmed.lastIndexOf('/');
        return slash <= 0 ? "/" : trimmed.substring(0, slash);
    }

    private interface Operation<T> {
        T apply(InRootFiles files) throws IOException;
    }

    private <T> T apply(Operation<T> op, String what) {
        ensureOpen.run();
        try (InRootFiles files = InRootFiles.ofProcess(initHostPid)) {
            return op.apply(files);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot " + what + ": " + e.getMessage(), e);
        }
    }
}
