package dev.isolated.internal.image;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Tells a rootfs tar from an image layout in a tar ({@code docker save}, OCI) by its entries, not its
 * name. Reads headers only until the first name no layout has ({@code bin/}, {@code etc/}...), so a
 * rootfs tar costs a block or two.
 */
final class ArchiveProbe {

    private ArchiveProbe() {
    }

    /**
     * Whether the archive holds an image layout (see {@link LayoutDirectory#isLayout(List)}).
     * Damaged or non-tar input counts as a rootfs tar, so that unpacking it reports the damage.
     */
    static boolean isLayout(ImageSource.Archive archive) throws IOException {
        Set<String> topLevel = new LinkedHashSet<>();
        try (InputStream raw = archive.open(); BufferedInputStream buffered = new BufferedInputStream(raw, 64 * 1024)) {
            InputStream decompressed;
            try {
                decompressed = Compression.detect(buffered).decompress(buffered, archive.description());
            }
            catch (ImageUnpackException | IOException unsupportedOrCorrupt) {
                return false;
            }
            try (TarArchiveInputStream tar = new TarArchiveInputStream(decompressed)) {
                for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                    String name = topLevelName(entry.getName());
                    if (name.isEmpty()) {
                        continue;
                    }
                    if (!LayoutDirectory.isLayoutName(name)) {
                        return false;
                    }
                    topLevel.add(name);
                }
            }
            catch (IOException corrupt) {
                // Decide on what was read; unpacking reads it again and reports where it broke.
                return LayoutDirectory.isLayout(List.copyOf(topLevel));
            }
        }
        return LayoutDirectory.isLayout(List.copyOf(topLevel));
    }

    private static String topLevelName(String entryName) {
        String name = entryName;
        while (name.startsWith("./")) {
            name = name.substring(2);
        }
        while (name.startsWith("/")) {
            name = name.substring(1);
        }
        int slash = name.indexOf('/');
        return slash < 0 ? name : name.substring(0, slash);
    }
}
