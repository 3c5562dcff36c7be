package dev.isolated.internal.env;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/** The hostnames an environment accepts: RFC 1123 names within the kernel's limit. */
public final class Hostnames {
    /** The kernel's HOST_NAME_MAX: the longest hostname {@code sethostname(2)} accepts, in bytes. */
    public static final int MAX_BYTES = 64;

    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");

    private Hostnames() {}

    /**
     * @param name a hostname
     * @return {@code name}
     * @throws IllegalArgumentException naming the hostname and the rule, when it is not a valid one
     */
    public static String check(String name) {
        if (!isValid(name)) {
            throw new IllegalArgumentException("Invalid hostname \"" + name + "\" ("
                    + name.getBytes(StandardCharsets.UTF_8).length
                    + " bytes): a hostname is at most " + MAX_BYTES + " bytes (the kernel's HOST_NAME_MAX) of letters, "
                    + "digits, hyphens and dots, in labels of 1 to 63 characters that neither start nor end with a "
                    + "hyphen (RFC 1123)");
        }
        return name;
    }

    private static boolean isValid(String name) {
        if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            return false;
        }
        for (String label : name.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }
}
