package dev.isolated.internal.image;

import java.util.List;
import java.util.regex.Pattern;

/** The config's {@code rootfs.diff_ids}: the digests of an image's layers uncompressed, the layer store's keys. */
final class DiffIds {

    private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-f]{64}");

    private DiffIds() {}

    /**
     * The diff_id of layer {@code index}, or {@code null} when the config does not list one per layer or
     * it is not a sha256 digest (then the layer is unpacked and stored under the digest it turns out to have).
     */
    static String at(List<String> diffIds, int index, int layers) {
        if (diffIds.size() != layers) {
            return null;
        }
        String id = diffIds.get(index);
        return SHA256.matcher(id).matches() ? id : null;
    }
}
