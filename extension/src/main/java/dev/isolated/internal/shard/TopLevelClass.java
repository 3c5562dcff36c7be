package dev.isolated.internal.shard;

/** The top-level class of a binary class name: {@code com.example.Outer$Inner} belongs to {@code com.example.Outer}. */
final class TopLevelClass {
    private TopLevelClass() {}

    static String of(String binaryName) {
        int dollar = binaryName.indexOf('$', binaryName.lastIndexOf('.') + 2);
        return dollar < 0 ? binaryName : binaryName.substring(0, dollar);
    }
}
