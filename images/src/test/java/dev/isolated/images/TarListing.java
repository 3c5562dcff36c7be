package dev.isolated.images;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/** Reads a tar's entries with Commons Compress, an implementation independent of the builder's. */
public final class TarListing {

    private TarListing() {}

    /** The entries of the tar in {@code in}, in archive order. */
    public static List<TarArchiveEntry> read(InputStream in) throws IOException {
        List<TarArchiveEntry> entries = new ArrayList<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                entries.add(entry);
            }
        }
        return entries;
    }

    /** The bytes of the entry named {@code name}. */
    public static byte[] content(InputStream in, String name) throws IOException {
        try (TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                if (entry.getName().equals(name)) {
                    return tar.readAllBytes();
                }
            }
        }
        throw new IllegalArgumentException("No entry " + name);
    }
}
