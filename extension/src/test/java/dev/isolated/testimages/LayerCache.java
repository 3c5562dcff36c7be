package dev.isolated.testimages;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;

/**
 * Layers of rootfs directories that never change, written once and kept in a directory for the next JVM:
 * {@code <name>.tar.gz} and {@code <name>.properties} (digest, size, diff id, entries, whiteouts), each put in place
 * by a rename, so a JVM that dies while writing leaves nothing that is used. A kept layer is used only when its
 * file still has the recorded sha256; otherwise it is written again. When the directory cannot be created or
 * written (not root), every layer is written anew and nothing is kept.
 */
final class LayerCache {

    /** Writes a layer into a file. */
    @FunctionalInterface
    interface LayerWriter {
        RootfsLayer.Written write(Path file) throws IOException;
    }

    private final Path directory;

    LayerCache(Path directory) {
        this.directory = directory;
    }

    /**
     * The layer {@code name}: the kept one, linked (or copied) to {@code file}, or one {@code writer} writes there.
     */
    RootfsLayer.Written get(String name, Path file, LayerWriter writer) throws IOException {
        Path kept = directory.resolve(name + ".tar.gz");
        Path recorded = directory.resolve(name + ".properties");
        if (Files.isRegularFile(recorded) && Files.isRegularFile(kept)) {
            Properties properties = new Properties();
            try (Reader in = Files.newBufferedReader(recorded, StandardCharsets.UTF_8)) {
                properties.load(in);
            }
            if (("sha256:" + sha256(kept)).equals(properties.getProperty("digest"))) {
                linkOrCopy(kept, file);
                String whiteouts = properties.getProperty("whiteouts", "");
                return new RootfsLayer.Written(
                        file,
                        properties.getProperty("digest"),
                        Long.parseLong(properties.getProperty("size")),
                        properties.getProperty("diffId"),
                        Integer.parseInt(properties.getProperty("entries")),
                        whiteouts.isEmpty() ? List.of() : Arrays.asList(whiteouts.split("\n")));
            }
        }
        RootfsLayer.Written written = writer.write(file);
        keep(written, kept, recorded);
        return written;
    }

    private void keep(RootfsLayer.Written written, Path kept, Path recorded) throws IOException {
        try {
            Files.createDirectories(directory);
        } catch (AccessDeniedException e) {
            return; // not root: the layers are not kept
        }
        if (!Files.isWritable(directory)) {
            return;
        }
        Path partial = Files.createTempFile(directory, ".partial-", ".tar.gz");
        Path partialRecord = Files.createTempFile(directory, ".partial-", ".properties");
        try {
            Files.copy(written.file(), partial, StandardCopyOption.REPLACE_EXISTING);
            Properties properties = new Properties();
            properties.setProperty("digest", written.digest());
            properties.setProperty("size", Long.toString(written.size()));
            properties.setProperty("diffId", written.diffId());
            properties.setProperty("entries", Integer.toString(written.entries()));
            properties.setProperty("whiteouts", String.join("\n", written.whiteouts()));
            try (Writer out = Files.newBufferedWriter(partialRecord, StandardCharsets.UTF_8)) {
                properties.store(out, "a layer of dev.isolated.testimages.DebianImages");
            }
            for (Path file : List.of(partial, partialRecord)) {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--")); // readable by all
            }
            Files.move(partial, kept, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Files.move(partialRecord, recorded, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(partial);
            Files.deleteIfExists(partialRecord);
        }
    }

    private static void linkOrCopy(Path kept, Path file) throws IOException {
        try {
            Files.createLink(file, kept);
        } catch (IOException | UnsupportedOperationException e) {
            Files.copy(kept, file); // another file system
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest sha256;
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha256)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha256.digest());
    }
}
