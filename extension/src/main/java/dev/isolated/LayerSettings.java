package dev.isolated;

import dev.isolated.internal.env.FrozenLayer;
import dev.isolated.internal.env.LayerSpec;
import dev.isolated.internal.image.CacheDirectory;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;

/** The writable layer settings of one environment, resolved against the configuration. */
final class LayerSettings {
    private static final Pattern SIZE = Pattern.compile("[1-9][0-9]{0,18}[kKmMgG]?|([1-9][0-9]?|100)%");

    private LayerSettings() {}

    static LayerSpec resolve(
            LayerStorage storage,
            String tmpfsSize,
            FrozenLayer from,
            Function<String, Optional<String>> configuration) {
        // Plain code, not Optional chains: each lambda is a class spun at its first use, on the first test's path.
        LayerStorage chosen = storage;
        if (chosen == LayerStorage.DEFAULT) {
            Optional<String> text = configuration.apply(IsolatedConfiguration.LAYER_STORAGE);
            chosen = text.isPresent() ? parseStorage(text.get()) : LayerStorage.TMPFS;
        }
        String size = tmpfsSize;
        if (size.isEmpty()) {
            Optional<String> text = configuration.apply(IsolatedConfiguration.LAYER_TMPFS_SIZE);
            // not chosen: the helper's tmpfs keeps the kernel's default, 50%
            size = text.isPresent() ? checkedSize(text.get().trim(), IsolatedConfiguration.LAYER_TMPFS_SIZE) : "";
        }
        Optional<String> dir = configuration.apply(IsolatedConfiguration.LAYER_DIR);
        Path root = dir.isPresent() && !dir.get().isBlank()
                ? Path.of(dir.get()).toAbsolutePath()
                : CacheDirectory.resolve(configuration).resolve(LayerSpec.DEFAULT_DIR_NAME);
        return new LayerSpec(
                chosen == LayerStorage.DISK,
                size,
                root,
                "-D" + IsolatedConfiguration.LAYER_DIR,
                from == null ? List.of() : from.layers());
    }

    static String checkedSize(String size, String what) {
        if (!SIZE.matcher(size).matches()) {
            throw new IllegalArgumentException(what + " \"" + size + "\" is not a size: write bytes with an optional "
                    + "k, m or g suffix (512m) or a percentage of RAM from 1% to 100% (25%)");
        }
        if (!size.endsWith("%") && tooLarge(size)) {
            throw new IllegalArgumentException(
                    what + " \"" + size + "\" is too large: at most 4294967296g (2^62 bytes)");
        }
        return size;
    }

    /** Whether a byte size (checked against {@link #SIZE}) is above 2^62 bytes, the most the helper takes. */
    private static boolean tooLarge(String size) {
        int shift = switch (Character.toLowerCase(size.charAt(size.length() - 1))) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            default -> 0;
        };
        String digits = shift == 0 ? size : size.substring(0, size.length() - 1);
        try {
            return Long.parseLong(digits) > 1L << (62 - shift);
        } catch (NumberFormatException e) {
            return true; // 19 digits above Long.MAX_VALUE
        }
    }

    private static LayerStorage parseStorage(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "tmpfs" -> LayerStorage.TMPFS;
            case "disk" -> LayerStorage.DISK;
            default ->
                throw new IllegalArgumentException(IsolatedConfiguration.LAYER_STORAGE + "=" + text
                        + " is not a layer storage: write tmpfs or disk");
        };
    }
}
