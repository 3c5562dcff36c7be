package dev.isolated.internal.os;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * copyOut from a {@link Source} that reads an environment's files by path (the helper's READ, as the
 * environment's root would), to the host as {@link InRootFiles#copyOut} copies from descriptors: the same host
 * side (nothing there replaced, no symlink there followed) and bounds ({@link TreeCopy#COPY_OUT}). The path is
 * looked at without following it, a directory listed with what each entry is (a symlink with its target), each
 * then read as what it is, resolved inside the environment every time; FIFOs, sockets and devices inside a
 * directory are left out, never opened.
 */
public final class PathTreeCopy {
    /** Reads an environment's files by path, every path resolved inside its root. */
    public interface Source {
        /**
         * @return what is at {@code path}, a symlink there not followed
         * @throws NoSuchFileException when nothing is
         */
        Entry look(String path) throws IOException;

        /**
         * @return a directory's entries, without {@code .} and {@code ..}, each as {@link #look} would see it (one
         *     gone since it was listed left out)
         */
        List<Child> list(String dir) throws IOException;

        /** @return a symlink's target */
        String readlink(String path) throws IOException;

        /** Writes a regular file's bytes to {@code to}, as many as it had when opened. */
        void read(String path, OutputStream to) throws IOException;

        /** @return {@code path} named for messages, e.g. "/x in the environment of host pid 4242" */
        String where(String path);
    }

    /** What is at a path: its {@code st_mode} (type and permission bits). */
    public record Entry(int mode) {}

    /**
     * An entry of a directory.
     *
     * @param name its name
     * @param entry what it is, a symlink not followed
     * @param target a symlink's target, else empty
     */
    public record Child(String name, Entry entry, String target) {}

    private final Source source;

    public PathTreeCopy(Source source) {
        this.source = source;
    }

    /**
     * As {@link InRootFiles#copyOut}.
     *
     * @param path an absolute path inside the environment
     * @param target a host path that does not exist yet, in an existing directory
     */
    public void copyOut(String path, Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        if (absolute.getParent() == null) {
            throw InRootFiles.exists(absolute);
        }
        Fds.Stat st = stat(source.look(path));
        InRootFiles.copyOutTo(
                absolute,
                InRootFiles.refusal(source.where(path), st),
                (parent, name) -> copy(path, st, null, parent, name, 0));
    }

    /** TARGET: a symlink's, when the listing gave it; else read here. */
    private void copy(String path, Fds.Stat st, String target, HostDirectory to, String name, int depth)
            throws IOException {
        if (st.isSymlink()) {
            to.symlink(name, target != null ? target : source.readlink(path));
        } else if (st.isDirectory()) {
            if (depth >= TreeCopy.COPY_OUT.maxDepth()) {
                throw new IOException(path + " is deeper than " + TreeCopy.COPY_OUT.maxDepth() + " directories");
            }
            try (HostDirectory sub = to.mkdir(name)) {
                for (Child child : source.list(path)) {
                    String childPath = path.endsWith("/") ? path + child.name() : path + "/" + child.name();
                    copy(childPath, stat(child.entry()), child.target(), sub, child.name(), depth + 1);
                }
            }
        } else if (st.isRegular()) {
            int out = to.createFile(name, (st.mode() & 0111) != 0 ? 0755 : 0644);
            try (OutputStream stream = Fds.output(out)) {
                source.read(path, stream);
            } finally {
                Fds.close(out);
            }
        }
        // FIFOs, sockets and devices: left out, as TreeCopy.COPY_OUT leaves them
    }

    private static Fds.Stat stat(Entry entry) {
        return new Fds.Stat(entry.mode(), 0, -1, -1);
    }
}
