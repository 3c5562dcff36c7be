package dev.isolated.internal.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The SHA-256 of image archives, computed once per version of the file that holds them (the tar, or
 * the jar a classpath resource is in). A version is its {@link FileIdentity}; digests are remembered
 * in memory and in small index files in the cache directory, one line per archive version:
 * {@code v1 <dev> <inode> <size> <mtime ns> <ctime ns> <sha256> <description>}. The lines are spread
 * over {@value #SHARDS} files by the key's hash ({@code <cacheDir>/image-digests/<n>.index}), so that a
 * fresh JVM's first test reads and scans a few kilobytes, not every archive version ever hashed (tests
 * that build their own tars add one each). Archives without a backing file are hashed on every call.
 */
final class ArchiveDigests {

    /** Shared by every cache in this JVM: identities do not depend on the cache directory. */
    private static final Map<String, String> MEMORY = new ConcurrentHashMap<>();

    /** How many index files the lines are spread over. */
    static final int SHARDS = 64;

    /** Beyond this an index file is started afresh, so that each stays small. */
    private static final long MAX_SHARD_BYTES = 16 * 1024;

    /** The single index file of earlier versions, removed once a digest is remembered. */
    private static final String LEGACY_INDEX = "image-digests.index";

    private final Path indexDir;

    /**
     * @param indexDir the directory of the index files, where digests are remembered between runs
     */
    ArchiveDigests(Path indexDir) {
        this.indexDir = indexDir;
    }

    /**
     * @param key {@code <dev> <inode> <size> <mtime ns> <ctime ns> <description>}
     * @return the index file that holds the key's line
     */
    Path shardOf(String key) {
        return indexDir.resolve(Math.floorMod(key.hashCode(), SHARDS) + ".index");
    }

    /** The lowercase hex SHA-256 of the archive's bytes. */
    String sha256(ImageSource.Archive archive) {
        if (archive.backingFile() == null) {
            return hash(archive);
        }
        String key;
        try {
            key = FileIdentity.of(archive.backingFile()).format() + " " + archive.description();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read image " + archive.description() + ": " + e, e);
        }
        String known = MEMORY.get(key);
        if (known == null) {
            known = lookUpIndex(shardOf(key), key);
        }
        if (known != null) {
            MEMORY.put(key, known);
            return known;
        }
        String digest = hash(archive);
        MEMORY.put(key, digest);
        remember(key, digest);
        return digest;
    }

    /**
     * Looks for the key's line in its index file, without a regular expression or a line split: matching each line
     * in a JVM that has not compiled its regex code yet took longer than the rest of a first test's image lookup.
     *
     * @return the digest the index remembers for {@code key}, or {@code null}
     */
    private static String lookUpIndex(Path indexFile, String key) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(indexFile);
        } catch (NoSuchFileException e) {
            return null; // nothing remembered yet
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Cannot read the image digest index " + indexFile + ": " + e + "; delete it, it is only a cache",
                    e);
        }
        return find(new String(bytes, StandardCharsets.ISO_8859_1), key);
    }

    /**
     * @param index the index's bytes, one char per byte
     * @param key {@code <dev> <inode> <size> <mtime ns> <ctime ns> <description>}
     * @return the digest of the first whole line {@code v1 <identity> <sha256> <description>} for that key, or
     *     {@code null}; a torn last line (a crash while appending) is just not remembered
     */
    static String find(String index, String key) {
        int identityEnd = nthSpace(key, 5);
        if (identityEnd < 0) {
            return null;
        }
        String prefix = "v1 " + key.substring(0, identityEnd + 1);
        String description = new String(
                key.substring(identityEnd + 1).replace('\n', ' ').getBytes(StandardCharsets.UTF_8),
                StandardCharsets.ISO_8859_1);
        for (int at = index.indexOf(prefix); at >= 0; at = index.indexOf(prefix, at + 1)) {
            if (at > 0 && index.charAt(at - 1) != '\n') {
                continue;
            }
            int digestStart = at + prefix.length();
            int descriptionStart = digestStart + 65;
            int lineEnd = index.indexOf('\n', digestStart);
            if (lineEnd < 0
                    || lineEnd != descriptionStart + description.length()
                    || index.charAt(descriptionStart - 1) != ' '
                    || !index.startsWith(description, descriptionStart)) {
                continue;
            }
            String digest = index.substring(digestStart, descriptionStart - 1);
            if (isLowerHex(digest)) {
                return digest;
            }
        }
        return null;
    }

    private static boolean isLowerHex(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if ((c < '0' || c > '9') && (c < 'a' || c > 'f')) {
                return false;
            }
        }
        return true;
    }

    private void remember(String key, String digest) {
        int firstSpaces = nthSpace(key, 5);
        String line = "v1 " + key.substring(0, firstSpaces) + " " + digest + " "
                + key.substring(firstSpaces + 1).replace('\n', ' ') + "\n";
        Path indexFile = shardOf(key);
        try {
            Files.createDirectories(indexDir);
            Files.deleteIfExists(indexDir.resolveSibling(LEGACY_INDEX));
            if (Files.exists(indexFile) && Files.size(indexFile) > MAX_SHARD_BYTES) {
                Files.delete(indexFile);
            }
            // One small O_APPEND write per line, so concurrent JVMs do not interleave within a line.
            Files.write(
                    indexFile,
                    line.getBytes(StandardCharsets.UTF_8),
                    StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Cannot write the image digest index " + indexFile + ": " + e
                            + ". Make the cache directory writable, or choose another one with -D"
                            + CacheDirectory.PROPERTY
                            + "=DIR",
                    e);
        }
    }

    private static int nthSpace(String text, int n) {
        int index = -1;
        for (int i = 0; i < n; i++) {
            index = text.indexOf(' ', index + 1);
        }
        return index;
    }

    static String hash(ImageSource.Archive archive) {
        try (InputStream raw = archive.open();
                DigestInputStream in = new DigestInputStream(raw, Sha256.newDigest())) {
            in.transferTo(OutputStream.nullOutputStream());
            return Sha256.hex(in.getMessageDigest());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read image " + archive.description() + ": " + e, e);
        }
    }

    /** Forgets what this JVM remembered (for testing purposes). */
    static void forgetInMemory() {
        MEMORY.clear();
    }
}
