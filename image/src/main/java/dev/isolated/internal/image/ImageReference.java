package dev.isolated.internal.image;

/**
 * A tag chosen by the user ({@code myapp:1.0} in {@code rootfs = "app.tar#myapp:1.0"}), matched
 * against the names an archive gives its images. Docker's short forms count as equal:
 * {@code myapp} is {@code myapp:latest} is {@code docker.io/library/myapp:latest}. A bare tag such as
 * {@code 1.0} also matches an OCI {@code org.opencontainers.image.ref.name} of {@code 1.0}.
 */
final class ImageReference {

    private ImageReference() {}

    /** Whether {@code wanted} names the image called {@code candidate}. */
    static boolean matches(String wanted, String candidate) {
        return wanted.equals(candidate) || normalize(wanted).equals(normalize(candidate));
    }

    /** The long form: {@code myapp} becomes {@code docker.io/library/myapp:latest}. */
    static String normalize(String name) {
        String reference = name;
        int at = reference.indexOf('@');
        if (at >= 0) {
            reference = reference.substring(0, at);
        }
        int slash = reference.lastIndexOf('/');
        if (reference.indexOf(':', slash + 1) < 0) {
            reference = reference + ":latest";
        }
        int firstSlash = reference.indexOf('/');
        String firstPart = firstSlash < 0 ? "" : reference.substring(0, firstSlash);
        boolean hasRegistry = firstPart.contains(".") || firstPart.contains(":") || firstPart.equals("localhost");
        if (!hasRegistry) {
            reference = "docker.io/" + (firstSlash < 0 ? "library/" : "") + reference;
        } else if (reference.startsWith("index.docker.io/")) {
            reference = "docker.io/" + reference.substring("index.docker.io/".length());
        }
        if (reference.startsWith("docker.io/") && reference.indexOf('/', "docker.io/".length()) < 0) {
            reference = "docker.io/library/" + reference.substring("docker.io/".length());
        }
        return reference;
    }
}
