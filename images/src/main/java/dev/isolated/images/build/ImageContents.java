package dev.isolated.images.build;

import dev.isolated.internal.tar.ImageEntry;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The entries of one image, kept sorted by tar name, with a directory entry for every parent.
 *
 * <p>Paths are relative and {@code /}-separated ({@code usr/bin/env}). A parent that was not added
 * explicitly gets mode 0755. Sorting by tar name puts every directory before its contents, since a
 * directory's name ({@code usr/}) is a prefix of theirs.
 */
public final class ImageContents {

    private static final int DEFAULT_DIRECTORY_MODE = 0755;

    private final SortedMap<String, ImageEntry> entries = new TreeMap<>();

    /** Adds a directory, or sets the mode of one already added as a parent. */
    public ImageContents directory(String path, int mode) {
        checkPath(path);
        if (entries.containsKey(path)) {
            throw new IllegalArgumentException("Image entry " + path + " is already a non-directory");
        }
        addParents(path);
        entries.put(path + "/", ImageEntry.directory(path, mode));
        return this;
    }

    /** Adds a regular file. */
    public ImageContents file(String path, int mode, byte[] content) {
        return add(ImageEntry.file(path, mode, content));
    }

    /** Adds a symlink whose target is stored verbatim. */
    public ImageContents symlink(String path, String target) {
        return add(ImageEntry.symlink(path, target));
    }

    /** The entries, sorted by tar name. */
    public List<ImageEntry> entries() {
        return List.copyOf(entries.values());
    }

    private ImageContents add(ImageEntry entry) {
        String path = entry.path();
        checkPath(path);
        if (entries.containsKey(path) || entries.containsKey(path + "/")) {
            throw new IllegalArgumentException("Duplicate image entry: " + path);
        }
        addParents(path);
        entries.put(entry.name(), entry);
        return this;
    }

    private void addParents(String path) {
        for (int slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
            String parent = path.substring(0, slash);
            if (entries.containsKey(parent)) {
                throw new IllegalArgumentException("Image entry " + path + " needs " + parent + " to be a directory");
            }
            entries.putIfAbsent(parent + "/", ImageEntry.directory(parent, DEFAULT_DIRECTORY_MODE));
        }
    }

    private static void checkPath(String path) {
        if (path.isEmpty()
                || path.startsWith("/")
                || path.endsWith("/")
                || List.of(path.split("/", -1)).stream()
                        .anyMatch(c -> c.isEmpty() || c.equals(".") || c.equals(".."))) {
            throw new IllegalArgumentException("Not a normal relative image path: '" + path + "'");
        }
    }
}
