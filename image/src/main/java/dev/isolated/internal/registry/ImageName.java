package dev.isolated.internal.registry;

import java.util.regex.Pattern;

/**
 * An image name as Docker reads it: {@code [registry/]repository[:tag][@digest]}. The first component is
 * a registry only if it holds a {@code .} or a {@code :}, or is {@code localhost}; otherwise the name is a
 * Docker Hub path ({@code postgres} is {@code docker.io/library/postgres:latest}). With both a tag and a
 * digest, the digest decides and the tag is kept for messages only.
 *
 * @param registry e.g. {@code docker.io}, {@code ghcr.io}, {@code 127.0.0.1:5000}
 * @param repository e.g. {@code library/postgres}
 * @param tag e.g. {@code 16}; {@code latest} when neither tag nor digest is given; {@code null} with a digest only
 * @param digest {@code sha256:<hex>}, or {@code null}
 * @param original what the user wrote, for messages
 */
public record ImageName(String registry, String repository, String tag, String digest, String original) {

    /** The registry Docker's short names mean. */
    public static final String DOCKER_HUB = "docker.io";

    private static final int MAX_NAME = 255;
    private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern DOMAIN = Pattern.compile(
            "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?");
    private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
    private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
    private static final Pattern BARE_HEX = Pattern.compile("[0-9a-f]{64}");

    /**
     * Parses {@code name} as Docker does.
     *
     * @throws IllegalArgumentException with a message saying what is wrong and what a name looks like
     */
    public static ImageName parse(String name) {
        if (name == null || name.isBlank()) {
            throw invalid(name, "it is empty");
        }
        String rest = name.trim();
        if (!rest.equals(name)) {
            throw invalid(name, "it has leading or trailing spaces");
        }
        String digest = null;
        int at = rest.indexOf('@');
        if (at >= 0) {
            digest = rest.substring(at + 1);
            rest = rest.substring(0, at);
            if (!DIGEST.matcher(digest).matches()) {
                throw invalid(name, "the digest '" + digest + "' is not sha256:<64 lowercase hex digits>");
            }
        }
        String tag = null;
        int slash = rest.lastIndexOf('/');
        int colon = rest.lastIndexOf(':');
        if (colon > slash) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw invalid(
                        name,
                        "the tag '" + tag
                                + "' is not a tag (letters, digits, _ . -, at most 128, not starting with . or -)");
            }
        }
        if (BARE_HEX.matcher(rest).matches() && tag == null && digest == null) {
            throw invalid(name, "a bare 64-hex-digit string is an image ID, not a name; write <name>@sha256:<hex>");
        }
        String registry;
        String path;
        int firstSlash = rest.indexOf('/');
        String first = firstSlash < 0 ? "" : rest.substring(0, firstSlash);
        if (firstSlash >= 0 && (first.contains(".") || first.contains(":") || first.equals("localhost"))) {
            registry = first;
            path = rest.substring(firstSlash + 1);
            if (!DOMAIN.matcher(registry).matches()) {
                throw invalid(name, "'" + registry + "' is not a registry host[:port]");
            }
        } else {
            registry = DOCKER_HUB;
            path = rest;
        }
        if (registry.equals("index.docker.io")) {
            registry = DOCKER_HUB;
        }
        if (registry.equals(DOCKER_HUB) && !path.contains("/")) {
            path = "library/" + path;
        }
        for (String component : path.split("/", -1)) {
            if (!COMPONENT.matcher(component).matches()) {
                throw invalid(
                        name,
                        "the repository path '" + path + "' has the component '" + component
                                + "'; components are lowercase letters and digits, joined by . _ __ or -");
            }
        }
        if (registry.length() + 1 + path.length() > MAX_NAME) {
            throw invalid(name, "it is longer than " + MAX_NAME + " characters");
        }
        if (tag == null && digest == null) {
            tag = "latest";
        }
        return new ImageName(registry, path, tag, digest, name);
    }

    private static IllegalArgumentException invalid(String name, String why) {
        return new IllegalArgumentException("Image name '" + name + "' is not valid: " + why + ". Write it as Docker "
                + "does: postgres:16, ghcr.io/org/app:1.4, 127.0.0.1:5000/team/app@sha256:<hex>");
    }

    /** The tag or digest asked for: the digest when there is one. */
    public String version() {
        return digest != null ? digest : tag;
    }

    /** The full name, {@code registry/repository:tag@digest}, without the parts not given. */
    @Override
    public String toString() {
        return registry + "/" + repository + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }
}
