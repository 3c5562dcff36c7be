package dev.isolated.internal.image;

/** This JVM's architecture in OCI terms ({@code amd64}, {@code arm64}, ...). */
public final class RuntimePlatform {

    private RuntimePlatform() {}

    /** The OCI {@code architecture} of this JVM. */
    public static String architecture() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "x86", "i386", "i686" -> "386";
            case "ppc64le" -> "ppc64le";
            default -> arch;
        };
    }
}
