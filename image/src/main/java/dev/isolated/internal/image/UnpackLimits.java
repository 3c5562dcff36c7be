package dev.isolated.internal.image;

import java.util.Optional;
import java.util.function.Function;

/**
 * Bounds on what one image may unpack to, so a hostile or broken archive cannot fill the disk.
 *
 * @param maxTotalBytes the most bytes of regular-file content, summed over the image
 * @param maxEntries the most archive entries
 */
public record UnpackLimits(long maxTotalBytes, long maxEntries) {

    /** Default of {@link #maxTotalBytes()}: 4 GiB. */
    public static final long DEFAULT_MAX_TOTAL_BYTES = 4L * 1024 * 1024 * 1024;

    /** Default of {@link #maxEntries()}: one million. */
    public static final long DEFAULT_MAX_ENTRIES = 1_000_000;

    /** Configuration parameter overriding {@link #maxTotalBytes()}: {@value}. */
    public static final String MAX_TOTAL_BYTES_PROPERTY = SettingNames.IMAGE_MAX_BYTES;

    /** Configuration parameter overriding {@link #maxEntries()}: {@value}. */
    public static final String MAX_ENTRIES_PROPERTY = SettingNames.IMAGE_MAX_ENTRIES;

    /** Checks that both bounds are positive. */
    public UnpackLimits {
        if (maxTotalBytes <= 0 || maxEntries <= 0) {
            throw new IllegalArgumentException(
                    "Unpack limits must be positive, got " + maxTotalBytes + " bytes and " + maxEntries + " entries");
        }
    }

    /** 4 GiB and one million entries. */
    public static UnpackLimits defaults() {
        return new UnpackLimits(DEFAULT_MAX_TOTAL_BYTES, DEFAULT_MAX_ENTRIES);
    }

    /**
     * The defaults, overridden by the system properties {@value #MAX_TOTAL_BYTES_PROPERTY} and
     * {@value #MAX_ENTRIES_PROPERTY} where set.
     *
     * @throws ImageSettingsException naming the property if a value is not a positive number
     */
    public static UnpackLimits fromSystemProperties() {
        return fromConfiguration(key -> Optional.ofNullable(System.getProperty(key)));
    }

    /**
     * The defaults, overridden by the configuration parameters {@value #MAX_TOTAL_BYTES_PROPERTY} and
     * {@value #MAX_ENTRIES_PROPERTY} where set.
     *
     * @param configuration looks up configuration parameters
     * @throws ImageSettingsException naming the key if a value is not a positive number
     */
    public static UnpackLimits fromConfiguration(Function<String, Optional<String>> configuration) {
        return new UnpackLimits(
                property(configuration, MAX_TOTAL_BYTES_PROPERTY, DEFAULT_MAX_TOTAL_BYTES),
                property(configuration, MAX_ENTRIES_PROPERTY, DEFAULT_MAX_ENTRIES));
    }

    private static long property(Function<String, Optional<String>> configuration, String name, long defaultValue) {
        String value = configuration.apply(name).orElse(null);
        if (value == null || value.isBlank()) {
            return defaultValue;
        }
        long parsed;
        try {
            parsed = Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw notPositive(name, value, e);
        }
        if (parsed <= 0) {
            throw notPositive(name, value, null);
        }
        return parsed;
    }

    private static ImageSettingsException notPositive(String name, String value, Throwable cause) {
        return new ImageSettingsException(
                "Configuration parameter " + name + " must be a positive number, got '" + value + "'", cause);
    }
}
