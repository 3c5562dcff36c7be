package dev.isolated.internal.image;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Builds an image's rootfs, one directory, from its stored layers, lowest first, with overlay semantics:
 * each layer's whiteouts delete what the layers below left ({@code opaque <dir>} empties the directory),
 * then its own entries are laid on top, a directory replacing a lower non-directory and the other way
 * round. Directories are created; every other entry is a hard link to the layer's file, so its content is
 * stored once however many images use it. The rootfs is used read-only (an overlay's lower layer or a
 * copy's source), so nothing ever writes through those links. Written through a {@link RootfsWriter}:
 * no step passes through a symlink, and {@code /dev} and {@code /proc} must not be symlinks.
 */
final class LayerMerger {

    private LayerMerger() {}

    /**
     * @param layers the image's layers, lowest first, each held shared by the caller
     * @param descriptions names each layer in messages, e.g. {@code layer 2 of 3 (sha256:ab12...)}
     * @param target an existing empty directory
     * @param image the image's name for messages
     * @throws ImageUnpackException if a whiteout or an entry would pass through a symlink, or the merged
     *     image's {@code /dev} or {@code /proc} is a symlink
     */
    static void merge(List<StoredLayer> layers, List<String> descriptions, Path target, String image)
            throws IOException {
        RootfsWriter writer = new RootfsWriter(target, PosixCalls.isRoot(), true);
        for (int i = 0; i < layers.size(); i++) {
            StoredLayer layer = layers.get(i);
            String label = "Image " + image + ", " + descriptions.get(i);
            applyWhiteouts(writer, layer, label);
            boolean root = LayerStore.describesRoot(layer);
            Set<String> implicit = LayerStore.implicitDirectories(layer);
            Path tree = layer.tree();
            Files.walkFileTree(tree, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) throws IOException {
                    String relative = tree.relativize(dir).toString();
                    if (relative.isEmpty() ? root : !implicit.contains(relative)) {
                        applying(label, relative, () -> writer.directory(relative, metadata(dir)));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
                    String relative = tree.relativize(file).toString();
                    applying(label, relative, () -> writer.link(relative, file));
                    return FileVisitResult.CONTINUE;
                }
            });
        }
        try {
            writer.finish();
        } catch (EntryRejectedException e) {
            throw new ImageUnpackException("Image " + image + " is refused: " + e.getMessage(), e);
        }
    }

    private static void applyWhiteouts(RootfsWriter writer, StoredLayer layer, String label) throws IOException {
        for (String record : LayerStore.whiteouts(layer)) {
            int space = record.indexOf(' ');
            String kind = record.substring(0, space);
            String path = record.substring(space + 1);
            String marker = kind.equals("opaque")
                    ? (path.isEmpty() ? "" : path + "/") + ".wh..wh..opq"
                    : (path.contains("/") ? path.substring(0, path.lastIndexOf('/') + 1) : "") + ".wh."
                            + path.substring(path.lastIndexOf('/') + 1);
            applying(label, marker, () -> {
                if (kind.equals("opaque")) {
                    writer.removeAllExcept(path, new TreeSet<>());
                } else {
                    writer.remove(path);
                }
            });
        }
    }

    /** One step of the merge. */
    @FunctionalInterface
    private interface Step {

        void run() throws IOException;
    }

    /** Runs {@code step}, naming the layer and entry if it is refused, as unpacking the tar would. */
    private static void applying(String label, String entry, Step step) throws IOException {
        try {
            step.run();
        } catch (EntryRejectedException e) {
            throw new ImageUnpackException(label + ": entry '" + entry + "' is refused: " + e.getMessage(), e);
        }
    }

    private static RootfsWriter.Metadata metadata(Path directory) throws IOException {
        Map<String, Object> attributes =
                Files.readAttributes(directory, "unix:mode,uid,gid,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
        return new RootfsWriter.Metadata(
                (Integer) attributes.get("mode") & 07777,
                ((Integer) attributes.get("uid")).longValue(),
                ((Integer) attributes.get("gid")).longValue(),
                (FileTime) attributes.get("lastModifiedTime"));
    }
}
