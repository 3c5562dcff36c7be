package dev.isolated.testimages;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * One gzip layer of an OCI image, written from a rootfs directory: all of it, or only what differs from a
 * base rootfs (new and changed entries, with their parent directories, and an OCI whiteout {@code .wh.<name>} for
 * each entry of the base that is gone). Entries keep their numeric owners, modes (set-uid bits too) and
 * modification times; they are sorted, so the same trees give the same bytes. Regular files, directories,
 * symlinks and hardlinks only: device nodes, fifos and sockets are left out, and so is everything inside
 * {@code /dev}, {@code /proc} and {@code /sys} (an environment gets its own), as in images from a registry.
 */
public final class RootfsLayer {

    private static final Set<String> EMPTY_MOUNT_POINTS = Set.of("dev", "proc", "sys");
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private final Path root;
    private final Path base;
    private final List<Entry> entries = new ArrayList<>();
    private final List<String> whiteouts = new ArrayList<>();

    /**
     * A written layer.
     *
     * @param file the gzip file
     * @param digest the sha256 of the file, {@code sha256:<hex>}
     * @param size the file's size
     * @param diffId the sha256 of the uncompressed tar (the config's {@code diff_ids} entry)
     * @param entries how many tar entries it has, whiteouts included
     * @param whiteouts the whiteout entries' paths, e.g. {@code var/log/.wh.old.log}
     */
    public record Written(Path file, String digest, long size, String diffId, int entries, List<String> whiteouts) {}

    private record Entry(String path, Path file, Map<String, Object> attributes) {}

    private RootfsLayer(Path root, Path base) {
        this.root = root;
        this.base = base;
    }

    /** Writes all of {@code root} as a layer into {@code file}. */
    public static Written of(Path root, Path file) throws IOException {
        return new RootfsLayer(root, null).write(file);
    }

    /** Writes what {@code root} has that {@code base} has not (or has otherwise), and whiteouts for what it lacks. */
    public static Written diff(Path base, Path root, Path file) throws IOException {
        return new RootfsLayer(root, base).write(file);
    }

    private Written write(Path file) throws IOException {
        if (!Files.isDirectory(root, NOFOLLOW) || base != null && !Files.isDirectory(base, NOFOLLOW)) {
            throw new IOException("Not a rootfs directory: " + (Files.isDirectory(root, NOFOLLOW) ? base : root));
        }
        walk("");
        MessageDigest compressed = sha256();
        MessageDigest uncompressed = sha256();
        Map<Object, String> linked = new HashMap<>();
        try (OutputStream fileOut = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
                DigestOutputStream gzipped = new DigestOutputStream(fileOut, compressed);
                GZIPOutputStream gzip = new GZIPOutputStream(gzipped, 1 << 16);
                DigestOutputStream plain = new DigestOutputStream(gzip, uncompressed);
                TarArchiveOutputStream tar = new TarArchiveOutputStream(plain, "UTF-8")) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            tar.setAddPaxHeadersForNonAsciiNames(true);
            for (Entry entry : entries) {
                writeEntry(tar, entry, linked);
            }
            tar.finish();
        }
        return new Written(
                file,
                "sha256:" + hex(compressed),
                Files.size(file),
                "sha256:" + hex(uncompressed),
                entries.size(),
                List.copyOf(whiteouts));
    }

    /** Adds the changed entries under directory {@code relative}; returns whether any was added. */
    private boolean walk(String relative) throws IOException {
        Path directory = relative.isEmpty() ? root : root.resolve(relative);
        List<String> names;
        try (Stream<Path> children = Files.list(directory)) {
            names = children.map(child -> child.getFileName().toString())
                    .sorted()
                    .toList();
        }
        boolean any = false;
        if (base != null) {
            Path baseDirectory = relative.isEmpty() ? base : base.resolve(relative);
            if (Files.isDirectory(baseDirectory, NOFOLLOW)) {
                List<String> gone;
                try (Stream<Path> children = Files.list(baseDirectory)) {
                    gone = children.map(child -> child.getFileName().toString())
                            .filter(name -> !Files.exists(directory.resolve(name), NOFOLLOW))
                            .sorted()
                            .toList();
                }
                for (String name : gone) {
                    String whiteout = join(relative, ".wh." + name);
                    entries.add(new Entry(whiteout, null, null));
                    whiteouts.add(whiteout);
                    any = true;
                }
            }
        }
        for (String name : names) {
            String path = join(relative, name);
            Path file = directory.resolve(name);
            Map<String, Object> attributes = Files.readAttributes(file, "unix:*", NOFOLLOW);
            if (Files.isDirectory(file, NOFOLLOW)) {
                int mark = entries.size();
                entries.add(new Entry(path, file, attributes));
                boolean inside = !(relative.isEmpty() && EMPTY_MOUNT_POINTS.contains(name)) && walk(path);
                if (!inside && !changed(path, file, attributes)) {
                    entries.subList(mark, entries.size()).clear();
                } else {
                    any = true;
                }
            } else if ((Files.isRegularFile(file, NOFOLLOW) || Files.isSymbolicLink(file))
                    && changed(path, file, attributes)) {
                entries.add(new Entry(path, file, attributes));
                any = true;
            }
        }
        return any;
    }

    private boolean changed(String path, Path file, Map<String, Object> attributes) throws IOException {
        if (base == null) {
            return true;
        }
        Path before = base.resolve(path);
        if (!Files.exists(before, NOFOLLOW)) {
            return true;
        }
        Map<String, Object> old = Files.readAttributes(before, "unix:*", NOFOLLOW);
        for (String key : List.of("mode", "uid", "gid")) {
            if (!old.get(key).equals(attributes.get(key))) {
                return true;
            }
        }
        if (seconds(old) != seconds(attributes)) {
            return true;
        }
        if (Files.isSymbolicLink(file)) {
            return !Files.readSymbolicLink(file).equals(Files.readSymbolicLink(before));
        }
        if (Files.isRegularFile(file, NOFOLLOW)) {
            return !old.get("size").equals(attributes.get("size")) || Files.mismatch(file, before) != -1;
        }
        return false;
    }

    private static void writeEntry(TarArchiveOutputStream tar, Entry entry, Map<Object, String> linked)
            throws IOException {
        if (entry.file() == null) {
            TarArchiveEntry whiteout = new TarArchiveEntry(entry.path());
            whiteout.setMode(0100000);
            whiteout.setSize(0);
            whiteout.setModTime(0);
            tar.putArchiveEntry(whiteout);
            tar.closeArchiveEntry();
            return;
        }
        Map<String, Object> attributes = entry.attributes();
        Path file = entry.file();
        TarArchiveEntry tarEntry;
        boolean content = false;
        if (Files.isDirectory(file, NOFOLLOW)) {
            tarEntry = new TarArchiveEntry(entry.path() + "/", TarConstants.LF_DIR);
        } else if (Files.isSymbolicLink(file)) {
            tarEntry = new TarArchiveEntry(entry.path(), TarConstants.LF_SYMLINK);
            tarEntry.setLinkName(Files.readSymbolicLink(file).toString());
        } else {
            Object identity = List.of(attributes.get("dev"), attributes.get("ino"));
            String first = (Integer) attributes.get("nlink") > 1 ? linked.putIfAbsent(identity, entry.path()) : null;
            if (first != null) {
                tarEntry = new TarArchiveEntry(entry.path(), TarConstants.LF_LINK);
                tarEntry.setLinkName(first);
            } else {
                tarEntry = new TarArchiveEntry(entry.path(), TarConstants.LF_NORMAL);
                tarEntry.setSize((Long) attributes.get("size"));
                content = true;
            }
        }
        int mode = (Integer) attributes.get("mode");
        tarEntry.setMode(
                mode & 07777 | (tarEntry.isDirectory() ? 040000 : tarEntry.isSymbolicLink() ? 0120000 : 0100000));
        tarEntry.setIds((Integer) attributes.get("uid"), (Integer) attributes.get("gid"));
        tarEntry.setUserName("");
        tarEntry.setGroupName("");
        tarEntry.setModTime(seconds(attributes) * 1000);
        tar.putArchiveEntry(tarEntry);
        if (content) {
            try (InputStream in = Files.newInputStream(file)) {
                long copied = in.transferTo(tar);
                if (copied != tarEntry.getSize()) {
                    throw new IOException(file + " changed while it was written into a layer");
                }
            }
        }
        tar.closeArchiveEntry();
    }

    private static long seconds(Map<String, Object> attributes) {
        return ((FileTime) attributes.get("lastModifiedTime")).toMillis() / 1000;
    }

    private static String join(String relative, String name) {
        return relative.isEmpty() ? name : relative + "/" + name;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(MessageDigest digest) {
        return java.util.HexFormat.of().formatHex(digest.digest());
    }
}
