package dev.isolated.internal.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;

/**
 * Unpacks each image once per content and keeps it for later runs, as
 * {@code <cacheDir>/images/<sha256>/rootfs}, where the digest is that of the archive's bytes.
 *
 * <p>The rootfs is meant to be used read-only, as an overlayfs lower layer.
 *
 * <h2>Concurrency</h2>
 * Safe with several threads and several JVMs (Surefire forks) at once. Within a JVM, one thread
 * unpacks a digest while the others wait for its result. Across JVMs, the unpacking thread holds
 * {@code FileChannel.lock()} on {@code <sha256>.lock} (never deleted, so every process locks the same
 * inode). It unpacks into a temporary directory next to {@code rootfs}, renames it into place
 * atomically, then writes the {@code complete} marker; a {@code rootfs} without the marker is stale
 * (a crash) and is rebuilt. A failed unpack deletes everything it wrote.
 */
public final class ImageCache {

    /** Holds only the digests being unpacked right now, keyed by lock file. */
    private static final ConcurrentMap<Path, CompletableFuture<Path>> IN_FLIGHT = new ConcurrentHashMap<>();

    private static final String ROOTFS = "rootfs";
    private static final String MARKER = "complete";

    private final Path imagesDirectory;
    private final SafeTarUnpacker unpacker;
    private final Consumer<String> notes;

    /**
     * @param cacheDirectory the cache's root; created when first needed
     * @param unpacker unpacks archives
     * @param notes receives what each unpack reports (one line per unpack, plus skipped entries)
     */
    public ImageCache(Path cacheDirectory, SafeTarUnpacker unpacker, Consumer<String> notes) {
        this.imagesDirectory = cacheDirectory.toAbsolutePath().resolve("images");
        this.unpacker = unpacker;
        this.notes = notes;
    }

    /** A cache in {@link CacheDirectory#resolve()} with limits from system properties. */
    public static ImageCache atDefaultLocation(Consumer<String> notes) {
        return new ImageCache(CacheDirectory.resolve(), new SafeTarUnpacker(), notes);
    }

    /**
     * The unpacked rootfs of {@code source}: a directory source as it is, an archive unpacked into
     * the cache unless it is there already.
     *
     * @throws ImageUnpackException if the archive cannot be unpacked
     * @throws UncheckedIOException if the archive cannot be read or the cache cannot be written
     */
    public Path rootfsFor(ImageSource source) {
        if (source instanceof ImageSource.Directory directory) {
            return directory.path();
        }
        ImageSource.Archive archive = (ImageSource.Archive) source;
        String digest = sha256(archive);
        Path entry = imagesDirectory.resolve(digest);
        if (isComplete(entry)) {
            return entry.resolve(ROOTFS);
        }
        // Keyed by real path: two locks on one file from one JVM would throw OverlappingFileLockException.
        Path lockFile = realImagesDirectory(archive).resolve(digest + ".lock");
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> running = IN_FLIGHT.putIfAbsent(lockFile, mine);
        if (running != null) {
            return await(running, archive);
        }
        try {
            Path rootfs = unpackUnderLock(archive, digest, entry, lockFile);
            mine.complete(rootfs);
            return rootfs;
        }
        catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        }
        finally {
            IN_FLIGHT.remove(lockFile, mine);
        }
    }

    /** The directory that holds one subdirectory per unpacked image. */
    public Path imagesDirectory() {
        return imagesDirectory;
    }

    private Path realImagesDirectory(ImageSource.Archive archive) {
        try {
            return Files.createDirectories(imagesDirectory).toRealPath();
        }
        catch (IOException e) {
            throw cacheFailure(archive, imagesDirectory, e);
        }
    }

    private Path unpackUnderLock(ImageSource.Archive archive, String digest, Path entry, Path lockFile) {
        try {
            try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                channel.lock(); // blocks until other JVMs are done; released when the channel closes
                if (!isComplete(entry)) {
                    FileTrees.deleteRecursively(entry); // stale: an earlier unpack died before its marker
                    unpack(archive, digest, entry);
                }
                return entry.resolve(ROOTFS);
            }
        }
        catch (IOException e) {
            throw cacheFailure(archive, entry, e);
        }
    }

    private static UncheckedIOException cacheFailure(ImageSource.Archive archive, Path where, IOException e) {
        return new UncheckedIOException("Cannot prepare image " + archive.description() + " in the cache " + where
                + ": " + e + ". Make the directory writable, or choose another one with -D" + CacheDirectory.PROPERTY
                + "=DIR or " + CacheDirectory.ENVIRONMENT_VARIABLE + "=DIR", e);
    }

    /** Unpacks into a temporary directory, renames it to {@code rootfs}, then writes the marker. */
    private void unpack(ImageSource.Archive archive, String digest, Path entry) throws IOException {
        Files.createDirectory(entry);
        try {
            Path temporary = Files.createTempDirectory(entry, ROOTFS + ".tmp-");
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rwxr-xr-x"));
            UnpackResult result;
            try (InputStream raw = archive.open(); DigestInputStream in = new DigestInputStream(raw, newSha256())) {
                result = unpacker.unpack(in, archive.description(), temporary);
                in.transferTo(OutputStream.nullOutputStream());
                String unpackedDigest = HexFormat.of().formatHex(in.getMessageDigest().digest());
                if (!unpackedDigest.equals(digest)) {
                    throw new ImageUnpackException("Image " + archive.description() + " changed while it was unpacked "
                            + "(sha256 " + digest + " before, " + unpackedDigest + " after); do not rewrite it during tests");
                }
            }
            Files.move(temporary, entry.resolve(ROOTFS), StandardCopyOption.ATOMIC_MOVE);
            writeMarker(entry, archive, result);
            notes.accept("Unpacked image " + archive.description() + " (sha256 " + digest + ") into " + entry.resolve(ROOTFS)
                    + ": " + result.entries() + " entries, " + result.bytes() + " bytes");
            result.notes().forEach(notes);
        }
        catch (IOException | RuntimeException | Error e) {
            try {
                FileTrees.deleteRecursively(entry);
            }
            catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private static void writeMarker(Path entry, ImageSource.Archive archive, UnpackResult result) throws IOException {
        StringBuilder text = new StringBuilder()
                .append("source=").append(archive.description()).append('\n')
                .append("entries=").append(result.entries()).append('\n')
                .append("bytes=").append(result.bytes()).append('\n');
        result.notes().forEach(note -> text.append("note=").append(note).append('\n'));
        Path partial = entry.resolve(MARKER + ".tmp");
        try (FileChannel channel = FileChannel.open(partial, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.write(StandardCharsets.UTF_8.encode(text.toString()));
            channel.force(true);
        }
        Files.move(partial, entry.resolve(MARKER), StandardCopyOption.ATOMIC_MOVE);
    }

    private static boolean isComplete(Path entry) {
        return Files.isRegularFile(entry.resolve(MARKER), LinkOption.NOFOLLOW_LINKS)
                && Files.isDirectory(entry.resolve(ROOTFS), LinkOption.NOFOLLOW_LINKS);
    }

    private static Path await(CompletableFuture<Path> running, ImageSource.Archive archive) {
        try {
            return running.join();
        }
        catch (CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof ImageUnpackException unpack) {
                throw new ImageUnpackException(unpack.getMessage(), unpack);
            }
            if (cause instanceof UncheckedIOException io) {
                throw new UncheckedIOException(io.getMessage(), io.getCause());
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException("Unpacking image " + archive.description() + " failed in another thread", cause);
        }
    }

    private static String sha256(ImageSource.Archive archive) {
        try (InputStream raw = archive.open(); DigestInputStream in = new DigestInputStream(raw, newSha256())) {
            in.transferTo(OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(in.getMessageDigest().digest());
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot read image " + archive.description() + ": " + e, e);
        }
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        }
        catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("This JVM lacks SHA-256, which every Java platform must provide", e);
        }
    }
}
