package dev.isolated.internal.image;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Deletes directory trees that may hold read-only directories (an image's 0555 {@code /usr}), never
 * following a symlink out of the tree.
 */
final class FileTrees {

    private FileTrees() {}

    /**
     * Deletes {@code root} and everything below it; does nothing if it does not exist. Directories are
     * made writable by their owner first. Continues past failures and then throws one exception that
     * lists every path left behind, each cause attached as suppressed.
     */
    static void deleteRecursively(Path root) throws IOException {
        if (Files.notExists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Map<Path, IOException> failures = new TreeMap<>();
        deleteInto(root, failures);
        if (!failures.isEmpty()) {
            IOException exception = new IOException("Cannot delete " + failures.size() + " path(s) under " + root + ": "
                    + failures.keySet() + "; see suppressed exceptions for details");
            failures.values().forEach(exception::addSuppressed);
            throw exception;
        }
    }

    /** The summed size of the regular files under {@code root}, links not followed. */
    static long sizeOf(Path root) throws IOException {
        long[] total = {0};
        Files.walkFileTree(root, new SimpleFileVisitor<>() {

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile()) {
                    total[0] += attrs.size();
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return total[0];
    }

    private static void deleteInto(Path root, Map<Path, IOException> failures) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {

            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                makeWritable(dir);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                delete(file, failures);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                if (exc instanceof AccessDeniedException && Files.isDirectory(file, LinkOption.NOFOLLOW_LINKS)) {
                    // An unreadable directory (mode 0000) as a non-root user: open it up and try again.
                    makeWritable(file);
                    deleteInto(file, failures);
                } else if (!(exc instanceof NoSuchFileException)) {
                    failures.put(file, exc);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) {
                if (exc != null) {
                    failures.put(dir, exc);
                }
                delete(dir, failures);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static void makeWritable(Path dir) throws IOException {
        Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        Set<PosixFilePermission> owner = EnumSet.of(
                PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
        if (!permissions.containsAll(owner)) {
            permissions.addAll(owner);
            Files.setPosixFilePermissions(dir, permissions);
        }
    }

    private static void delete(Path path, Map<Path, IOException> failures) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            failures.put(path, e);
        }
    }
}
