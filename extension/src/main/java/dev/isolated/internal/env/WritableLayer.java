package dev.isolated.internal.env;

import dev.isolated.internal.os.HostDirectory;
import dev.isolated.internal.os.TreeCopy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Copies an environment's writable layer (the overlay's upper directory, reachable while the environment lives
 * through its init's {@code /proc/<pid>/fd/<n>}) to a host directory, for a failed test to be looked at. The
 * layer is the test's to change while it is copied, so the copy goes through descriptors only ({@link TreeCopy}):
 * the upper directory is opened once, everything below it relative to its parent with {@code O_NOFOLLOW};
 * symlinks are kept as symlinks, never followed. Files the test deleted from the image (overlay whiteouts)
 * become empty {@code <name>.deleted} files; what is not copied (FIFOs, sockets, devices, files over 64 MiB,
 * files the JVM cannot read, anything past 1 GiB or 128 levels) a {@code <name>.skipped} file saying why; the
 * copy stops after 100,000 entries.
 */
final class WritableLayer {
    static final String DELETED_SUFFIX = TreeCopy.DELETED_SUFFIX;

    private WritableLayer() {}

    /**
     * @param target the host directory to create; it must not exist (its parents are created)
     * @return what the failure report should add: empty, or what was left out
     */
    static String copy(long initHostPid, int upperFd, Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        Files.createDirectories(absolute.getParent());
        TreeCopy copy = new TreeCopy(TreeCopy.KEEP);
        try (HostDirectory parent = HostDirectory.open(absolute.getParent());
                HostDirectory kept = parent.mkdir(absolute.getFileName().toString())) {
            copy.copyChildren(
                    Paths.get("/proc", Long.toString(initHostPid), "fd", Integer.toString(upperFd)),
                    "the writable layer",
                    kept);
        }
        StringBuilder note = new StringBuilder();
        if (!copy.leftOut().isEmpty()) {
            note.append(copy.leftOut().size())
                    .append(" not copied (see their <name>")
                    .append(TreeCopy.SKIPPED_SUFFIX)
                    .append("): ")
                    .append(String.join(
                            ", ",
                            copy.leftOut().subList(0, Math.min(5, copy.leftOut().size()))))
                    .append(copy.leftOut().size() > 5 ? ", ..." : "");
        }
        if (copy.stoppedEarly()) {
            note.append(note.length() > 0 ? "; " : "")
                    .append("stopped after ")
                    .append(TreeCopy.KEEP.maxEntries())
                    .append(" entries");
        }
        return note.toString();
    }
}
