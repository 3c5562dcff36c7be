package dev.isolated.internal.image;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Writes entries into a rootfs directory without ever leaving it.
 *
 * <ul>
 * <li>Names are normal relative paths ({@link EntryNames}). Each parent is looked at without following
 * links: a missing one is created (0755), a symlink or a non-directory is refused, so nothing is
 * written through a link, wherever it points.</li>
 * <li>An existing path of another kind is deleted, then created afresh; files are never written
 * through an existing file or link.</li>
 * <li>Symlink targets are stored verbatim; they are never followed while unpacking.</li>
 * <li>A hardlink must point at a non-directory written earlier by this unpack.</li>
 * <li>Directories stay writable until {@link #finish()}, which applies their modes deepest first, so
 * a 0555 directory neither blocks its own contents nor a later delete.</li>
 * <li>Ownership is kept when running as root; otherwise set-uid and set-gid bits are dropped, and every
 * directory keeps read and search permission for its owner, this user ({@code 0000} becomes {@code 0500}).</li>
 * </ul>
 */
final class RootfsWriter {

    /** The image's mode, owner and mtime for one entry. */
    record Metadata(int mode, long uid, long gid, FileTime mtime) {}

    /** Writes a regular file's content. */
    @FunctionalInterface
    interface Content {

        /** Writes the bytes to {@code out}. */
        void writeTo(OutputStream out) throws IOException;
    }

    /** Paths where the sandbox mounts its own file systems; an image must not make them symlinks. */
    private static final Map<String, String> MOUNT_POINTS = Map.of(
            "dev", "the sandbox mounts its own /dev there",
            "proc", "the sandbox mounts its own /proc there");

    /** {@code u+rx}, kept on every directory when not root. */
    private static final int OWNER_READ_SEARCH = 0500;

    private static final Set<PosixFilePermission> NEW_DIRECTORY = PosixFilePermissions.fromString("rwxr-xr-x");

    private final Path root;
    private final boolean keepOwnership;
    private final boolean checkMountPoints;
    private final int permittedModeBits;
    private final Map<String, Metadata> directories = new HashMap<>();
    private final Set<String> nonDirectories = new HashSet<>();
    /**
     * Paths below the root known to be real directories (not links): created by this writer, or looked
     * at without following links. Only this writer changes the tree while it unpacks, and it forgets a
     * path (and all below it) when it deletes it, so a parent found here need not be looked at again.
     */
    private final Set<String> verifiedDirectories = new HashSet<>();
    /**
     * The owner and group the kernel gave the first non-directory this writer created ({@code -1} before): every
     * later one gets the same (same process, same file system, and no directory is set-gid before {@link #finish()}
     * applies the modes, or every one is, inherited from the root), so a {@code lchown(2)} to them is skipped.
     */
    private long createdUid = -1;

    private long createdGid = -1;
    /** Directories created only as the missing parents of entries, never named by an entry of their own. */
    private final Set<String> implicitDirectories = new HashSet<>();

    /**
     * @param root the rootfs directory; it must exist
     * @param keepOwnership whether to chown to the image's owners (only root may)
     */
    RootfsWriter(Path root, boolean keepOwnership) {
        this(root, keepOwnership, true);
    }

    /**
     * @param root the rootfs directory; it must exist
     * @param keepOwnership whether to chown to the image's owners (only root may)
     * @param checkMountPoints whether {@link #finish()} refuses symlinked {@code /dev} and {@code /proc}
     *     (not for one stored layer, which a later layer may fix; always for the merged image)
     */
    RootfsWriter(Path root, boolean keepOwnership, boolean checkMountPoints) {
        this.root = root;
        this.keepOwnership = keepOwnership;
        this.checkMountPoints = checkMountPoints;
        this.permittedModeBits = keepOwnership ? 07777 : 01777;
    }

    /** Creates (or keeps) a directory; its mode, owner and mtime are applied by {@link #finish()}. */
    void directory(String relative, Metadata metadata) throws IOException {
        if (!relative.isEmpty()) {
            Path path = resolveForWriting(relative);
            try {
                createDirectory(relative, path);
            } catch (FileAlreadyExistsException e) {
                if (!clearFor(relative, path, true)) {
                    createDirectory(relative, path);
                }
                verifiedDirectories.add(relative);
            }
        }
        directories.put(relative, metadata);
        implicitDirectories.remove(relative);
    }

    /**
     * The directories that exist only as the parents of entries (no entry names them), so a stored layer
     * gives them no mode or owner of its own: merged, they keep a lower layer's, and a lower symlink or
     * file in their place is refused as a write through it.
     */
    Set<String> implicitDirectories() {
        return Set.copyOf(implicitDirectories);
    }

    /** Creates a regular file with {@code content}. */
    void file(String relative, Metadata metadata, Content content) throws IOException {
        Path path = resolveForWriting(relative);
        OutputStream opened;
        try {
            opened = newFile(path);
        } catch (FileAlreadyExistsException e) {
            clearFor(relative, path, false);
            opened = newFile(path);
        }
        try (OutputStream out = opened) {
            content.writeTo(out);
        }
        applyOwnerAndMode(path, metadata, true);
        setMtime(path, metadata);
        nonDirectories.add(relative);
    }

    /** Creates a symlink whose target is stored as given. */
    void symlink(String relative, String target, Metadata metadata) throws IOException {
        if (target.isEmpty()) {
            throw new EntryRejectedException("its symlink target is empty");
        }
        Path path = resolveForWriting(relative);
        createAfresh(relative, path, () -> PosixCalls.symlink(target, path));
        if (keepOwnership) {
            chownCreated(path, metadata);
        }
        setMtime(path, metadata);
        nonDirectories.add(relative);
    }

    /** Creates a hardlink to {@code targetRelative}, a non-directory written earlier. */
    void hardlink(String relative, String targetRelative) throws IOException {
        if (targetRelative.equals(relative)) {
            throw new EntryRejectedException("it is a hardlink to itself");
        }
        if (!nonDirectories.contains(targetRelative)) {
            throw new EntryRejectedException("its hardlink target '" + targetRelative
                    + "' is not a file extracted before it (links may only point at earlier entries inside the image)");
        }
        Path target = resolve(targetRelative, MissingParent.REFUSE, "read");
        BasicFileAttributes targetAttributes = attributes(target);
        if (targetAttributes == null || targetAttributes.isDirectory()) {
            throw new EntryRejectedException("its hardlink target '" + targetRelative + "' no longer exists as a file");
        }
        Path path = resolveForWriting(relative);
        createAfresh(relative, path, () -> Files.createLink(path, target));
        nonDirectories.add(relative);
    }

    /** Whether an entry described the root directory itself ({@code ./}), so its mode and owner apply. */
    boolean describesRoot() {
        return directories.containsKey("");
    }

    /**
     * Puts the non-directory {@code source} (a stored layer's file, symlink or FIFO) at {@code relative}
     * as a hard link, so its content, owner and mode are shared, never copied; where a hard link cannot
     * be made (another file system, too many links), a copy with the same owner, mode and mtime.
     * Nothing is ever written through the link: the merged rootfs is read-only.
     */
    void link(String relative, Path source) throws IOException {
        Path path = resolveForWriting(relative);
        try {
            createAfresh(relative, path, () -> Files.createLink(path, source));
        } catch (FileSystemException e) {
            if (e instanceof FileAlreadyExistsException || e instanceof NoSuchFileException) {
                throw e;
            }
            Files.copy(source, path, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        }
        nonDirectories.add(relative);
    }

    /** Creates a FIFO. Its mtime is not set: the JDK can only do that by opening it, which would block. */
    void fifo(String relative, Metadata metadata) throws IOException {
        Path path = resolveForWriting(relative);
        createAfresh(relative, path, () -> PosixCalls.mkfifo(path, 0600));
        applyOwnerAndMode(path, metadata, true);
        nonDirectories.add(relative);
    }

    /**
     * Deletes whatever is at {@code relative} (a directory with its contents), if anything: a whiteout.
     * A missing parent means there is nothing to delete; a symlinked parent is refused, as the delete
     * would happen through the link.
     */
    void remove(String relative) throws IOException {
        Path path = resolve(relative, MissingParent.GIVE_UP, "deleted");
        BasicFileAttributes attributes = path == null ? null : attributes(path);
        if (attributes != null) {
            delete(relative, path, attributes);
        }
    }

    /**
     * Deletes everything in the directory {@code relative} except the paths in {@code keep} (and the
     * directories leading to them): an opaque directory, whose lower contents are hidden while what its
     * own layer wrote stays. Nothing happens if {@code relative} is not a directory.
     *
     * @param keep paths written by the current layer, normalised
     */
    void removeAllExcept(String relative, NavigableSet<String> keep) throws IOException {
        Path path = relative.isEmpty() ? root : resolve(relative, MissingParent.GIVE_UP, "made opaque");
        BasicFileAttributes attributes = path == null ? null : attributes(path);
        if (attributes != null && attributes.isDirectory()) {
            removeChildrenExcept(relative, path, keep);
        }
    }

    private void removeChildrenExcept(String relative, Path directory, NavigableSet<String> keep) throws IOException {
        List<Path> children;
        try (Stream<Path> list = Files.list(directory)) {
            children = list.toList();
        }
        for (Path child : children) {
            String childRelative =
                    relative.isEmpty() ? child.getFileName().toString() : relative + "/" + child.getFileName();
            BasicFileAttributes attributes = attributes(child);
            if (attributes == null) {
                continue;
            }
            if (attributes.isDirectory() && (keep.contains(childRelative) || hasDescendantIn(keep, childRelative))) {
                removeChildrenExcept(childRelative, child, keep);
            } else if (!keep.contains(childRelative)) {
                delete(childRelative, child, attributes);
            }
        }
    }

    private static boolean hasDescendantIn(NavigableSet<String> paths, String directory) {
        String prefix = directory + "/";
        String next = paths.ceiling(prefix);
        return next != null && next.startsWith(prefix);
    }

    /**
     * Refuses an image whose mount points are symlinks, then applies directory modes, owners and
     * mtimes, deepest first.
     *
     * @throws EntryRejectedException if {@code /dev} or {@code /proc} is a symlink
     */
    void finish() throws IOException {
        for (Map.Entry<String, String> mountPoint :
                checkMountPoints ? MOUNT_POINTS.entrySet() : Set.<Map.Entry<String, String>>of()) {
            Path path = root.resolve(mountPoint.getKey());
            BasicFileAttributes attributes = attributes(path);
            if (attributes != null && attributes.isSymbolicLink()) {
                throw new EntryRejectedException("its /" + mountPoint.getKey() + " is a symlink (to '"
                        + Files.readSymbolicLink(path) + "'), but " + mountPoint.getValue()
                        + " and must not follow a link out of the image");
            }
        }
        List<String> deepestFirst = directories.keySet().stream()
                .sorted(Comparator.comparingInt(EntryNames::depth).reversed().thenComparing(Comparator.naturalOrder()))
                .toList();
        for (String relative : deepestFirst) {
            Path path = relative.isEmpty() ? root : resolve(relative, MissingParent.REFUSE, "set the mode of");
            Metadata metadata = directories.get(relative);
            applyOwnerAndMode(path, metadata, false);
            setMtime(path, metadata);
        }
    }

    private Path resolveForWriting(String relative) throws IOException {
        if (relative.isEmpty()) {
            throw new EntryRejectedException("it names the rootfs itself, which can only be a directory");
        }
        return resolve(relative, MissingParent.CREATE, "written");
    }

    /** What {@link #resolve} does when a parent is missing. */
    private enum MissingParent {
        /** Create it (0755). */
        CREATE,
        /** Refuse the entry. */
        REFUSE,
        /** Return {@code null}: there is nothing at the path. */
        GIVE_UP
    }

    /**
     * Resolves {@code relative} under the root, looking at each parent without following links.
     *
     * @param missingParent what to do when a parent does not exist
     * @param verb what would happen to the path, for messages
     */
    private Path resolve(String relative, MissingParent missingParent, String verb) throws IOException {
        int slash = relative.lastIndexOf('/');
        if (slash < 0 || verifiedDirectories.contains(relative.substring(0, slash))) {
            return root.resolve(relative); // the parent is the root, or every parent was looked at before
        }
        Path current = root;
        String[] components = relative.split("/");
        StringBuilder walked = new StringBuilder();
        for (int i = 0; i < components.length - 1; i++) {
            current = current.resolve(components[i]);
            walked.append(i == 0 ? "" : "/").append(components[i]);
            BasicFileAttributes attributes = attributes(current);
            if (attributes == null) {
                if (missingParent == MissingParent.GIVE_UP) {
                    return null;
                }
                if (missingParent == MissingParent.REFUSE) {
                    throw new EntryRejectedException(
                            "'" + relative + "' cannot be " + verb + ": its parent '" + walked + "' does not exist");
                }
                createDirectory(walked.toString(), current);
                implicitDirectories.add(walked.toString());
            } else if (attributes.isSymbolicLink()) {
                throw new EntryRejectedException(
                        "'" + relative + "' would be " + verb + " through the symlink '" + walked + "' (-> '"
                                + Files.readSymbolicLink(current) + "'); writes never pass through symlinks");
            } else if (!attributes.isDirectory()) {
                throw new EntryRejectedException(
                        "'" + relative + "' cannot be " + verb + ": its parent '" + walked + "' is not a directory");
            } else {
                verifiedDirectories.add(walked.toString());
            }
        }
        return current.resolve(components[components.length - 1]);
    }

    /**
     * Makes room for a new entry at {@code path}: deletes what is there unless it is a directory and a
     * directory is wanted.
     *
     * @return whether a directory was kept
     */
    private boolean clearFor(String relative, Path path, boolean wantDirectory) throws IOException {
        BasicFileAttributes attributes = attributes(path);
        if (attributes == null) {
            return false;
        }
        if (attributes.isDirectory() && wantDirectory) {
            return true;
        }
        delete(relative, path, attributes);
        return false;
    }

    /** Deletes {@code path} (recursively if a directory, never following links) and forgets its entries. */
    private void delete(String relative, Path path, BasicFileAttributes attributes) throws IOException {
        if (attributes.isDirectory()) {
            FileTrees.deleteRecursively(path);
            String prefix = relative + "/";
            directories.keySet().removeIf(d -> d.equals(relative) || d.startsWith(prefix));
            verifiedDirectories.removeIf(d -> d.equals(relative) || d.startsWith(prefix));
            implicitDirectories.removeIf(d -> d.equals(relative) || d.startsWith(prefix));
            nonDirectories.removeIf(f -> f.startsWith(prefix));
        } else {
            Files.delete(path);
            nonDirectories.remove(relative);
        }
    }

    /** @param created whether this writer has just created {@code path}, a non-directory */
    private void applyOwnerAndMode(Path path, Metadata metadata, boolean created) throws IOException {
        if (keepOwnership && created) {
            chownCreated(path, metadata); // before chmod: chown clears set-uid and set-gid
        } else if (keepOwnership) {
            chown(path, metadata);
        }
        int mode = metadata.mode() & permittedModeBits;
        if (!created && !keepOwnership) {
            // A directory (finish() applies those): not root, this user must still list and enter it, to merge an
            // image from a stored layer, to copy it, to delete it.
            mode |= OWNER_READ_SEARCH;
        }
        // Follows links, but path was just checked or created as a non-link; chmod(2) never opens it.
        Files.setAttribute(path, "unix:mode", mode);
    }

    /** {@link #chown} of a non-directory this writer has just created, unless the kernel gave it that owner already. */
    private void chownCreated(Path path, Metadata metadata) throws IOException {
        if (createdUid < 0) {
            Map<String, Object> owner = Files.readAttributes(path, "unix:uid,gid", LinkOption.NOFOLLOW_LINKS);
            createdUid = ((Integer) owner.get("uid")).longValue();
            createdGid = ((Integer) owner.get("gid")).longValue();
        }
        if (metadata.uid() != createdUid || metadata.gid() != createdGid) {
            chown(path, metadata);
        }
    }

    /** One {@code lchown(2)}: owner and group at once, never through a link. */
    private static void chown(Path path, Metadata metadata) throws IOException {
        PosixCalls.lchown(path, (int) metadata.uid(), (int) metadata.gid());
    }

    /** One {@code utimensat(2)}: the mtime of the path itself; the atime is left alone. */
    private static void setMtime(Path path, Metadata metadata) throws IOException {
        PosixCalls.setMtime(path, metadata.mtime());
    }

    /** Creates an (empty) directory, 0755, and remembers it as verified. */
    private void createDirectory(String relative, Path path) throws IOException {
        Files.createDirectory(path);
        Files.setPosixFilePermissions(path, NEW_DIRECTORY);
        verifiedDirectories.add(relative);
    }

    /** Opens a new file; {@code O_EXCL} fails on anything already there, a dangling link included. */
    private static OutputStream newFile(Path path) throws IOException {
        return Files.newOutputStream(
                path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    }

    /** Creates a non-directory at {@code path}. */
    @FunctionalInterface
    private interface Creation {

        void create() throws IOException;
    }

    /**
     * Runs {@code creation}, and if something is already at {@code path}, deletes it ({@link #clearFor})
     * and runs it again. Every creation call ({@code open(O_CREAT|O_EXCL)}, {@code symlink}, {@code link},
     * {@code mkfifo}) fails with {@code EEXIST} on an existing path, even a link, and never
     * follows it; so the common case, a new path, costs no {@code lstat} and no exception.
     */
    private void createAfresh(String relative, Path path, Creation creation) throws IOException {
        try {
            creation.create();
        } catch (FileAlreadyExistsException e) {
            clearFor(relative, path, false);
            creation.create();
        }
    }

    /** The attributes of {@code path} itself (not a link's target), or {@code null} if it does not exist. */
    private static BasicFileAttributes attributes(Path path) throws IOException {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }
}
