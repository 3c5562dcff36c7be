package dev.isolated.internal.env;

import dev.isolated.internal.helper.Fields;
import dev.isolated.internal.helper.HelperErrorException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;

/** The messages of the helper's WRITE and READ errors, worded as the JVM's own reads word theirs. */
final class HelperFileErrors {
    private HelperFileErrors() {}

    /**
     * What the helper's ERROR says, e.g. {@code openat2 /etc/x in the environment of host pid 4242: Read-only file
     * system (errno 30); it is on a read-only mount: ...}, or {@code /tmp/pipe in the environment of host pid 4242 is
     * a FIFO, not a regular file}, for a READ followed by {@code ; only regular files are read}.
     *
     * @param read whether it answers a READ: then ENOENT is a {@link NoSuchFileException} (its message {@code
     *     <path in the environment>: <text>}, as the JVM's own reads say it)
     */
    static IOException of(HelperErrorException failure, long initHostPid, boolean read) {
        Fields error = failure.fields();
        String path = error.getOrEmpty("path");
        String where = path + " in the environment of host pid " + initHostPid;
        int errno;
        try {
            errno = Integer.parseInt(error.getOrEmpty("errno"));
        } catch (NumberFormatException e) {
            errno = -1;
        }
        String hint = error.getOrEmpty("hint");
        if (errno == 0) {
            return new IOException(
                    where + " is " + hint + ", not a regular file" + (read ? "; only regular files are read" : ""),
                    failure);
        }
        String syscall = error.getOrEmpty("syscall");
        String message = error.getOrEmpty("message"); // "syscall path: strerror"
        String prefix = syscall + (path.isEmpty() ? "" : " " + path) + ": ";
        String reason = message.startsWith(prefix) ? message.substring(prefix.length()) : message;
        String text = syscall + " " + where + ": " + reason + (errno > 0 ? " (errno " + errno + ")" : "")
                + (hint.isEmpty() ? "" : "; " + hint);
        IOException e = read && errno == 2 ? new NoSuchFileException(where, null, text) : new IOException(text);
        e.initCause(failure);
        return e;
    }
}
