package dev.isolated.internal.os;

import com.sun.jna.Native;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Opens a host file for {@code copyIn}: looked at through {@code O_PATH|O_NOFOLLOW} (a FIFO or device is never
 * opened, a symlink at the path never followed), then, when regular, that very file opened for reading through
 * {@code /proc/self/fd}.
 */
public final class HostRegularFile {
    private HostRegularFile() {}

    /**
     * @param path a host path
     * @return the file, open for reading
     * @throws IOException naming {@code path} when it cannot be opened or is not a regular file ({@code /x is a
     *     FIFO; copyIn copies regular files, directories and symlinks only})
     */
    public static FileChannel open(Path path) throws IOException {
        int fd = LibC.INSTANCE.open(path.toString(), LibC.O_PATH | LibC.O_NOFOLLOW | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw new IOException(path + ": " + Fds.strerror(Native.getLastError()));
        }
        try {
            Fds.Stat st = Fds.stat(fd);
            if (!st.isRegular()) {
                throw new IOException(
                        path + " is " + st.typeName() + "; copyIn copies regular files, directories and symlinks only");
            }
            try {
                return Fds.reopenForReading(fd);
            } catch (IOException e) {
                throw new IOException(path + ": " + e.getMessage(), e);
            }
        } finally {
            LibC.INSTANCE.close(fd);
        }
    }
}
