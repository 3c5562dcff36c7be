package dev.isolated.internal.env;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Copies an environment's writable layer (the overlay's upper directory, reachable while the environment lives
 * through its init's {@code /proc/<pid>/fd/<n>}) to a host directory, for a failed test to be looked at. Files
 * the test deleted from the image (overlay whiteouts) become empty {@code <name>.deleted} files.
 */
final class WritableLayer {
    static final String DELETED_SUFFIX = ".deleted";

    private WritableLayer() {
    }

    static void copy(long initHostPid, int upperFd, Path target) throws IOException {
        // "<fd>/." follows the magic link to the directory itself (its path as a string would be meaningless here);
        // below it the walk does not follow symlinks.
        Path source = Paths.get("/proc", Long.toString(initHostPid), "fd", Integer.toString(upperFd)).resolve(".");
        Files.createDirectories(target);
        Files.walkFileTree(source, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Files.createDirectories(target.resolve(source.relativize(dir).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Path to = target.resolve(source.relativize(file).toString());
                if (attrs.isSymbolicLink()) {
                    Files.createSymbolicLink(to, Files.readSymbolicLink(file));
                } else if (attrs.isRegularFile()) {
                    Files.copy(file, to, LinkOption.NOFOLLOW_LINKS);
                } else {
                    Files.createFile(to.resolveSibling(to.getFileName() + DELETED_SUFFIX));
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
