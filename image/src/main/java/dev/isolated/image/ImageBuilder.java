package dev.isolated.image;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.isolated.internal.elf.ElfInterpreter;
import dev.isolated.internal.image.CacheDirectory;
import dev.isolated.internal.image.OwnDirectory;
import dev.isolated.internal.image.RootfsImages;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apiguardian.api.API;

/**
 * Builds a rootfs tar from Java, without Docker: start from scratch or from another image, add files,
 * directories, static binaries, text and symlinks, set modes, then write a reproducible tar.
 *
 * <pre>{@code
 * Path image = ImageBuilder.scratch()
 *         .addStaticBinary(Path.of("/bin/busybox"), "/bin/busybox")
 *         .symlink("/bin/sh", "busybox")
 *         .addText("/etc/motd", "hello\n")
 *         .build();
 * // @Isolated(rootfs = "...") accepts the path; or unpack it with the image cache
 * }</pre>
 *
 * <p>The tar is reproducible: entries sorted by path (each directory before its contents), every
 * entry owned by uid and gid 0 ({@code root}), one modification time (the epoch unless
 * {@link #modificationTime(Instant)} says otherwise), long names as PAX headers. The same inputs give
 * the same bytes. Files that are hardlinked in a base image stay hardlinked.
 *
 * <p>Paths inside the image are absolute or relative to its root; {@code ..} is refused. A later call
 * for the same path replaces what is there: a file or symlink replaces a directory with its contents, while a
 * directory added where one is ({@link #addDirectory}, or a base image's) merges with it: what was below it stays
 * unless added again, and the directory takes the later mode. Missing parent directories, and a file or symlink
 * that something is added below, become directories with mode 0755. A builder is not thread-safe.
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class ImageBuilder {

    private final NavigableMap<String, BuildEntry> entries = new TreeMap<>();
    private FileTime modificationTime = FileTime.from(Instant.EPOCH);

    private ImageBuilder() {}

    /**
     * An empty image.
     *
     * @return a builder with nothing added
     */
    public static ImageBuilder scratch() {
        return new ImageBuilder();
    }

    /**
     * An image that starts with the contents of another: anything {@code @Isolated(rootfs = ...)}
     * accepts (a classpath resource, a tar or a directory, with {@code #tag}), found and unpacked as
     * {@code @Isolated} finds and unpacks it: through the JVM's one image cache, with its configured directory
     * and limits (see {@code dev.isolated.IsolatedConfiguration}; outside a test, system properties), once per
     * image and run. Owners are not kept: every entry belongs to root.
     *
     * @param rootfsOrPath a class path resource, a tar or a directory, as {@code @Isolated(rootfs = ...)} takes it
     * @return a builder holding that image's files
     * @throws ImageException naming the image if there is no such image or it cannot be read or unpacked, or
     *     naming the setting if one of the image cache is not valid or names a directory of another user
     */
    public static ImageBuilder from(String rootfsOrPath) {
        Path rootfs = RootfsImages.image(
                        rootfsOrPath,
                        Thread.currentThread().getContextClassLoader(),
                        key -> Optional.ofNullable(System.getProperty(key)))
                .rootfs();
        ImageBuilder builder = new ImageBuilder();
        builder.addTree(rootfs, "", true);
        return builder;
    }

    /**
     * Adds the host file {@code hostFile} at {@code target}, with the host file's permission bits (a symlink given
     * as {@code hostFile} is followed: its file's content and bits are added).
     *
     * @param hostFile a regular file on the host, or a symlink to one
     * @param target its absolute path in the image
     * @return this builder
     * @throws IllegalArgumentException if {@code hostFile} is not a regular file, or {@code target} is the image's
     *     root or holds {@code ..} (as for every path given to this builder)
     */
    public ImageBuilder addFile(Path hostFile, String target) {
        requireRegularFile(hostFile);
        put(
                target,
                new BuildEntry(
                        BuildEntry.Kind.FILE,
                        hostModeFollowingLinks(hostFile),
                        hostFile.toAbsolutePath(),
                        null,
                        null,
                        null));
        return this;
    }

    /**
     * Adds the host directory {@code hostDir} and everything below it at {@code target}: directories, files, FIFOs,
     * and symlinks as symlinks (not followed); sockets and device nodes are left out. Modes are the host's. A symlink given as {@code hostDir} is followed: its
     * directory's contents are added.
     *
     * @param hostDir a directory on the host, or a symlink to one
     * @param target its absolute path in the image
     * @return this builder
     * @throws IllegalArgumentException if {@code hostDir} is not a directory, or {@code target} holds {@code ..}
     */
    public ImageBuilder addDirectory(Path hostDir, String target) {
        if (!Files.isDirectory(hostDir)) {
            throw new IllegalArgumentException(
                    "Cannot add directory " + hostDir + " to the image: it is not a directory");
        }
        Path real;
        try {
            real = hostDir.toRealPath(); // a symlink given as hostDir is its directory, not a link into the host
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot add directory " + hostDir + " to the image: " + e, e);
        }
        addTree(real, normalize(target), false);
        return this;
    }

    /**
     * Adds a file with mode 0644 holding {@code content} in UTF-8.
     *
     * @param target its absolute path in the image
     * @param content the file's text
     * @return this builder
     * @throws IllegalArgumentException if {@code target} is the image's root or holds {@code ..}
     */
    public ImageBuilder addText(String target, String content) {
        put(
                target,
                new BuildEntry(BuildEntry.Kind.FILE, 0644, null, content.getBytes(StandardCharsets.UTF_8), null, null));
        return this;
    }

    /**
     * Adds a statically linked executable with mode 0755.
     *
     * @param hostFile a statically linked ELF executable on the host
     * @param target its absolute path in the image
     * @return this builder
     * @throws IllegalArgumentException naming the file if it is not an ELF executable or is dynamically
     *     linked (it would not run in an image without its loader and libraries)
     */
    public ImageBuilder addStaticBinary(Path hostFile, String target) {
        requireRegularFile(hostFile);
        String interpreter;
        try {
            interpreter = ElfInterpreter.of(hostFile);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + hostFile + ": " + e, e);
        }
        if (interpreter != null) {
            throw new IllegalArgumentException(hostFile + " is dynamically linked (it needs the loader " + interpreter
                    + "), so it cannot run on its own in an image. Link it with -static, or add it with addFile() "
                    + "together with its loader and libraries.");
        }
        put(target, new BuildEntry(BuildEntry.Kind.FILE, 0755, hostFile.toAbsolutePath(), null, null, null));
        return this;
    }

    /**
     * Adds a symlink at {@code target} pointing to {@code linkTarget}, stored as given.
     *
     * @param target the symlink's absolute path in the image
     * @param linkTarget what it points to
     * @return this builder
     * @throws IllegalArgumentException if {@code linkTarget} is empty, or {@code target} is the image's root or holds
     *     {@code ..}
     */
    public ImageBuilder symlink(String target, String linkTarget) {
        if (linkTarget.isEmpty()) {
            throw new IllegalArgumentException("The symlink " + target + " needs a non-empty target");
        }
        put(target, new BuildEntry(BuildEntry.Kind.SYMLINK, 0777, null, null, linkTarget, null));
        return this;
    }

    /**
     * Sets the permission bits (such as {@code 0755} or {@code 04755}) of a path already added.
     *
     * @param path the path in the image
     * @param mode the permission bits
     * @return this builder
     * @throws IllegalArgumentException if nothing was added at {@code path}, or it is a symlink
     */
    public ImageBuilder mode(String path, int mode) {
        String name = normalize(path);
        BuildEntry entry = entries.get(name);
        if (entry == null) {
            throw new IllegalArgumentException("Cannot set the mode of /" + name + ": nothing was added there yet");
        }
        if (entry.kind() == BuildEntry.Kind.SYMLINK) {
            throw new IllegalArgumentException("Cannot set the mode of /" + name + ": it is a symlink");
        }
        entries.put(name, entry.withMode(mode & 07777));
        return this;
    }

    /**
     * Sets the modification time of every entry (the epoch by default).
     *
     * @param time the modification time
     * @return this builder
     */
    public ImageBuilder modificationTime(Instant time) {
        this.modificationTime = FileTime.from(time);
        return this;
    }

    /**
     * Writes the image as a reproducible tar to {@code out}, which must not exist yet: like
     * {@code IsolatedEnvironment.copyOut}, it never replaces anything on the host. Whatever is at {@code out} (a
     * file, directory, symlink, even a dangling one) is refused and left as it was, and a symlink there is never
     * followed. The tar is written to a new temporary file next to {@code out} and linked into place only when
     * complete, so {@code out} never holds half an image.
     *
     * @param out where to write the tar; nothing may be there
     * @throws UncheckedIOException if a host file cannot be read (or changed size while it was read: {@code Cannot
     *     read the host file <file>, added to the image at </path>: <why>}) or {@code out} cannot be written; when
     *     {@code out} exists, with a {@link java.nio.file.FileAlreadyExistsException} as cause and the message
     *     {@code Cannot write the image tar <out>: it already exists; writeTar never replaces anything: delete it
     *     first or choose a path that does not exist}
     */
    public void writeTar(Path out) {
        Path target = out.toAbsolutePath();
        try {
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new FileAlreadyExistsException(target.toString());
            }
            Path temporary = Files.createTempFile(target.getParent(), "." + target.getFileName() + "-", ".tmp");
            try {
                try (OutputStream stream = new BufferedOutputStream(Files.newOutputStream(temporary))) {
                    write(stream);
                }
                Files.createLink(target, temporary); // link(2): never replaces, never follows a symlink at target
            } finally {
                Files.deleteIfExists(temporary);
            }
        } catch (FileAlreadyExistsException e) {
            throw new UncheckedIOException(
                    "Cannot write the image tar " + out + ": it already exists; writeTar never "
                            + "replaces anything: delete it first or choose a path that does not exist",
                    e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the image tar " + out + ": " + e, e);
        }
    }

    /**
     * Writes the image to {@code <cache dir>/built/<sha256>.tar} (the same image, the same file) and
     * returns its path, which {@code @Isolated(rootfs = ...)} accepts. The cache is Isolated's own: it is created
     * 0700 if missing, and made 0700 if it is not, as for unpacked images; the tar is written to a new temporary
     * file there and renamed into place, replacing the file of the same name (which holds these very bytes, as
     * the name is their digest; a symlink there is replaced, not followed). These tars are not pruned:
     * {@code isolated.cache.maxBytes} neither counts nor removes them (it does the images unpacked from them).
     *
     * @return the path of the tar
     * @throws UncheckedIOException if a host file cannot be read (or changed size while it was read: {@code Cannot
     *     read the host file <file>, added to the image at </path>: <why>}) or the cache cannot be written
     * @throws ImageException if the cache directory belongs to another user
     */
    public Path build() {
        Path cache = CacheDirectory.resolve();
        Path directory = cache.resolve("built");
        try {
            OwnDirectory.createPrivate(cache);
            OwnDirectory.requirePrivate(cache, "the image cache", "-D" + CacheDirectory.PROPERTY);
            OwnDirectory.requirePrivate(
                    OwnDirectory.createPrivate(directory), "the image cache", "-D" + CacheDirectory.PROPERTY);
            Path temporary = Files.createTempFile(directory, "image-", ".tar.tmp");
            try {
                MessageDigest sha256 = sha256();
                try (OutputStream stream =
                        new DigestOutputStream(new BufferedOutputStream(Files.newOutputStream(temporary)), sha256)) {
                    write(stream);
                }
                Path tar = directory.resolve(HexFormat.of().formatHex(sha256.digest()) + ".tar");
                Files.move(temporary, tar, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return tar;
            } finally {
                Files.deleteIfExists(temporary);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Cannot build the image in " + directory + ": " + e + ". Make the directory "
                            + "writable, or choose another cache with -D" + CacheDirectory.PROPERTY + "=DIR",
                    e);
        }
    }

    private void write(OutputStream stream) throws IOException {
        TarArchiveOutputStream tar = new TarArchiveOutputStream(stream, StandardCharsets.UTF_8.name());
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        tar.setAddPaxHeadersForNonAsciiNames(true);
        Map<Object, String> firstOfInode = new HashMap<>();
        for (Map.Entry<String, BuildEntry> named : entries.entrySet()) {
            String name = named.getKey();
            BuildEntry entry = named.getValue();
            String linkedTo = entry.inode() == null ? null : firstOfInode.putIfAbsent(entry.inode(), name);
            if (linkedTo != null) {
                putEntry(tar, header(name, TarConstants.LF_LINK, entry.mode(), linkedTo), null);
                continue;
            }
            switch (entry.kind()) {
                case DIRECTORY -> putEntry(tar, header(name + "/", TarConstants.LF_DIR, entry.mode(), null), null);
                case SYMLINK -> putEntry(tar, header(name, TarConstants.LF_SYMLINK, 0777, entry.linkTarget()), null);
                case FIFO -> putEntry(tar, header(name, TarConstants.LF_FIFO, entry.mode(), null), null);
                case FILE -> putFile(tar, name, entry);
            }
        }
        tar.finish();
    }

    private void putFile(TarArchiveOutputStream tar, String name, BuildEntry entry) throws IOException {
        TarArchiveEntry header = header(name, TarConstants.LF_NORMAL, entry.mode(), null);
        if (entry.content() != null) {
            header.setSize(entry.content().length);
            putEntry(tar, header, entry.content());
            return;
        }
        Path source = entry.source();
        long size;
        InputStream in;
        try {
            size = Files.size(source);
            in = Files.newInputStream(source);
        } catch (IOException e) {
            throw unreadable(source, name, e.toString(), e);
        }
        try (in) {
            header.setSize(size);
            tar.putArchiveEntry(header);
            byte[] buffer = new byte[64 * 1024];
            long copied = 0;
            while (true) {
                int read;
                try {
                    read = in.read(buffer, 0, (int) Math.min(buffer.length, Math.max(size - copied, 1)));
                } catch (IOException e) {
                    throw unreadable(source, name, e.toString(), e);
                }
                if (read < 0 || copied + read > size) {
                    if (read >= 0 || copied != size) {
                        throw unreadable(
                                source,
                                name,
                                "it changed size while it was added (" + size + " bytes, then "
                                        + (read < 0 ? copied : "more") + ")",
                                null);
                    }
                    break;
                }
                tar.write(buffer, 0, read);
                copied += read;
            }
        }
        tar.closeArchiveEntry();
    }

    /** A host file that cannot be read: named with where it goes, not blamed on the tar or the cache. */
    private static UncheckedIOException unreadable(Path source, String name, String why, IOException cause) {
        String message = "Cannot read the host file " + source + ", added to the image at /" + name + ": " + why;
        return new UncheckedIOException(message, cause != null ? cause : new IOException(message));
    }

    private static void putEntry(TarArchiveOutputStream tar, TarArchiveEntry header, byte[] content)
            throws IOException {
        tar.putArchiveEntry(header);
        if (content != null) {
            tar.write(content);
        }
        tar.closeArchiveEntry();
    }

    private TarArchiveEntry header(String name, byte type, int mode, String linkName) {
        TarArchiveEntry header = new TarArchiveEntry(name, type);
        header.setMode(mode);
        header.setModTime(modificationTime);
        header.setUserId(0);
        header.setGroupId(0);
        header.setUserName("root");
        header.setGroupName("root");
        if (linkName != null) {
            header.setLinkName(linkName);
        }
        return header;
    }

    /** Adds everything below {@code hostRoot} under {@code target} ({@code ""} for the image root). */
    private void addTree(Path hostRoot, String target, boolean keepHardlinks) {
        try {
            Files.walkFileTree(hostRoot, new SimpleFileVisitor<>() {

                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) {
                    String name = join(target, hostRoot.relativize(dir).toString());
                    if (!name.isEmpty()) {
                        put(name, BuildEntry.directory(hostMode(dir)));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
                    String name = join(target, hostRoot.relativize(file).toString());
                    if (attributes.isSymbolicLink()) {
                        put(
                                name,
                                new BuildEntry(
                                        BuildEntry.Kind.SYMLINK,
                                        0777,
                                        null,
                                        null,
                                        Files.readSymbolicLink(file).toString(),
                                        null));
                    } else if (attributes.isRegularFile()) {
                        put(
                                name,
                                new BuildEntry(
                                        BuildEntry.Kind.FILE,
                                        hostMode(file),
                                        file,
                                        null,
                                        null,
                                        keepHardlinks ? attributes.fileKey() : null));
                    } else if (attributes.isOther() && isFifo(file)) {
                        put(name, new BuildEntry(BuildEntry.Kind.FIFO, hostMode(file), null, null, null, null));
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot add " + hostRoot + " to the image: " + e, e);
        }
    }

    private void put(String target, BuildEntry entry) {
        String name = normalize(target);
        if (name.isEmpty()) {
            throw new IllegalArgumentException(
                    "Cannot add '" + target + "': it names the image root, which is always " + "a directory");
        }
        BuildEntry previous = entries.get(name);
        if (previous != null
                && previous.kind() == BuildEntry.Kind.DIRECTORY
                && entry.kind() != BuildEntry.Kind.DIRECTORY) {
            entries.subMap(name + "/", name + "0").clear(); // '0' follows '/': everything below name
        }
        for (int slash = name.indexOf('/'); slash >= 0; slash = name.indexOf('/', slash + 1)) {
            String parent = name.substring(0, slash);
            BuildEntry existing = entries.get(parent);
            if (existing == null || existing.kind() != BuildEntry.Kind.DIRECTORY) {
                entries.put(parent, BuildEntry.directory(0755));
            }
        }
        entries.put(name, entry);
    }

    /** {@code /usr//bin/} and {@code ./usr/bin} become {@code usr/bin}; {@code ..} is refused. */
    private static String normalize(String target) {
        StringBuilder name = new StringBuilder();
        for (String part : target.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..") || part.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("Image path '" + target + "' must not contain '..' or NUL");
            }
            if (name.length() > 0) {
                name.append('/');
            }
            name.append(part);
        }
        return name.toString();
    }

    private static String join(String parent, String child) {
        if (child.isEmpty()) {
            return parent;
        }
        return parent.isEmpty() ? child : parent + "/" + child;
    }

    private static void requireRegularFile(Path hostFile) {
        if (!Files.isRegularFile(hostFile)) {
            throw new IllegalArgumentException("Cannot add " + hostFile + " to the image: it is not a regular file");
        }
    }

    private static int hostMode(Path path) {
        try {
            return ((Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS)) & 07777;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the mode of " + path + ": " + e, e);
        }
    }

    /** The permission bits of the file {@code path} names, through a symlink if it is one. */
    private static int hostModeFollowingLinks(Path path) {
        try {
            return ((Integer) Files.getAttribute(path, "unix:mode")) & 07777;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the mode of " + path + ": " + e, e);
        }
    }

    private static boolean isFifo(Path path) {
        return (hostModeWithType(path) & 0170000) == 0010000;
    }

    private static int hostModeWithType(Path path) {
        try {
            return (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the mode of " + path + ": " + e, e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("This JVM lacks SHA-256, which every Java platform must provide", e);
        }
    }
}
