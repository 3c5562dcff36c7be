package dev.isolated.internal.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Whether this process holds a classic (per-process) {@code fcntl} lock on a file, as {@code /proc/locks} lists
 * them: such a lock is dropped when the process closes <em>any</em> descriptor of the file, so {@link CacheLock}
 * must not close one while another copy of this library in the JVM holds such a lock.
 */
final class ClassicLocks {

    private ClassicLocks() {}

    /**
     * @return whether {@code /proc/locks} lists a held {@code POSIX} lock of this process on a file with the inode
     *     of {@code file} (the device is not compared, so a file of another file system with that inode counts too)
     * @throws IOException if {@code file} or {@code /proc/locks} cannot be read
     */
    static boolean heldByThisProcess(Path file) throws IOException {
        String inode = ":" + Files.getAttribute(file, "unix:ino", LinkOption.NOFOLLOW_LINKS);
        String pid = Long.toString(ProcessHandle.current().pid());
        for (String line : Files.readAllLines(Path.of("/proc/locks"), StandardCharsets.US_ASCII)) {
            // "1: POSIX  ADVISORY  READ 1234 08:01:5678 0 EOF"; a waiter's line has "->" after the number
            String[] fields = line.trim().split("\\s+");
            if (fields.length > 5 && fields[1].equals("POSIX") && fields[4].equals(pid) && fields[5].endsWith(inode)) {
                return true;
            }
        }
        return false;
    }
}
