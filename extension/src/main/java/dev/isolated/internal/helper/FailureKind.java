package dev.isolated.internal.helper;

import java.util.Optional;

/**
 * What kind of failure an ERROR frame reports: its {@code kind=} field (native/PROTOCOL.md, "Failure kinds").
 * The helper decides it; the JVM only reads it.
 */
public enum FailureKind {
    /** The host cannot do it: a kernel feature, a setting or a permission it lacks. */
    HOST("host"),
    /** What the test asked for cannot be done as asked: a value, the image, a file, a limit. */
    TEST("test"),
    /** The request itself was malformed or named an unknown id ({@code stage=request}). */
    REQUEST("request");

    private final String wireName;

    FailureKind(String wireName) {
        this.wireName = wireName;
    }

    /**
     * @param wireName a {@code kind=} value
     * @return the kind it names, empty when PROTOCOL.md has none of that name
     */
    public static Optional<FailureKind> ofWireName(String wireName) {
        for (FailureKind kind : values()) {
            if (kind.wireName.equals(wireName)) {
                return Optional.of(kind);
            }
        }
        return Optional.empty();
    }
}
