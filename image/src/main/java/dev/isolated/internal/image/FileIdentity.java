package dev.isolated.internal.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What tells one version of a file from another without reading it: device, inode, size, mtime and
 * ctime (which no one can set back, unlike mtime).
 *
 * @param device the file system's device number
 * @param inode the inode number
 * @param size the size in bytes
 * @param mtimeNanos the modification time, in ns since the epoch
 * @param ctimeNanos the status change time, in ns since the epoch
 */
record FileIdentity(long device, long inode, long size, long mtimeNanos, long ctimeNanos) {

    /** Reads the identity of {@code file} (following links: the bytes are what matters). */
    static FileIdentity of(Path file) throws IOException {
        Map<String, Object> attributes = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime,ctime");
        return new FileIdentity(
                ((Number) attributes.get("dev")).longValue(),
                ((Number) attributes.get("ino")).longValue(),
                ((Number) attributes.get("size")).longValue(),
                ((FileTime) attributes.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS),
                ((FileTime) attributes.get("ctime")).to(TimeUnit.NANOSECONDS));
    }

    /** Space-separated, for the digest index. */
    String format() {
        return device + " " + inode + " " + size + " " + mtimeNanos + " " + ctimeNanos;
    }
}
