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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The SHA-256 of image archives, computed once per version of the file that holds them (the tar, or
 * the jar a classpath resource is in). A version is its {@link FileIdentity}; digests are remembered
 * in memory and in a small index file in the cache directory, one line per archive version:
 * {@code v1 <dev> <inode> <size> <mtime ns> <ctime ns> <sha256> <description>}. Archives without a
 * backing file are hashed on every call.
 */
final class ArchiveDigests {

    /** Shared by every cache in this JVM: identities do not depend on the cache directory. */
    private static final Map<String, String> MEMORY = new ConcurrentHashMap<>();

    private static final Pattern LINE = Pattern.compile("v1 (-?\\d+ \\d+ \\d+ -?\\d+ -?\\d+) ([0-9a-f]{64}) (.+)");
    /** Beyond this the index is started afresh, so it stays small. */
    private static final long MAX_INDEX_BYTES = 1024 * 1024;

    private final Path indexFile;
    private volatile boolean indexLoaded;

    /**
     * @param indexFile where digests are remembered between runs
     */
    ArchiveDigests(Path indexFile) {
        this.indexFile = indexFile;
    }

    /** The lowercase hex SHA-256 of the archive's bytes. */
    String sha256(ImageSource.Archive archive) {
        if (archive.backingFile() == null) {
            return hash(archive);
        }
        String key;
        try {
            key = FileIdentity.of(archive.backingFile()).format() + " " + archive.description();
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot read image " + archive.description() + ": " + e, e);
        }
        String known = MEMORY.get(key);
        if (known == null && !indexLoaded) {
            loadIndex();
            known = MEMORY.get(key);
        }
        if (known != null) {
            return known;
        }
        String digest = hash(archive);
        MEMORY.put(key, digest);
        remember(key, digest);
        return digest;
    }

    private synchronized void loadIndex() {
        if (indexLoaded) {
            return;
        }
        try {
            List<String> lines = Files.readAllLines(indexFile, StandardCharsets.UTF_8);
            for (String line : lines) {
                var match = LINE.matcher(line);
                if (match.matches()) { // a torn last line (a crash while appending) is just not remembered
                    MEMORY.putIfAbsent(match.group(1) + " " + match.group(3), match.group(2));
                }
            }
        }
        catch (NoSuchFileException e) {
            // Nothing remembered yet.
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot read the image digest index " + indexFile + ": " + e
                    + "; delete it, it is only a cache", e);
        }
        indexLoaded = true;
    }

    private void remember(String key, String digest) {
        int firstSpaces = nthSpace(key, 5);
        String line = "v1 " + key.substring(0, firstSpaces) + " " + digest + " " + key.substring(firstSpaces + 1)
                .replace('\n', ' ') + "\n";
        try {
            Files.createDirectories(indexFile.getParent());
            if (Files.exists(indexFile) && Files.size(indexFile) > MAX_INDEX_BYTES) {
                Files.delete(indexFile);
            }
            // One small O_APPEND write per line, so concurrent JVMs do not interleave within a line.
            Files.write(indexFile, line.getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot write the image digest index " + indexFile + ": " + e
                    + ". Make the cache directory writable, or choose another one with -D" + CacheDirectory.PROPERTY
                    + "=DIR", e);
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
        try (InputStream raw = archive.open(); DigestInputStream in = new DigestInputStream(raw, Sha256.newDigest())) {
            in.transferTo(OutputStream.nullOutputStream());
            return Sha256.hex(in.getMessageDigest());
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot read image " + archive.description() + ": " + e, e);
        }
    }

    /** Forgets what this JVM remembered (for testing purposes). */
    static void forgetInMemory() {
        MEMORY.clear();
    }
}
