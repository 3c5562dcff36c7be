package dev.isolated.internal.image;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Turns archive entry names into normal paths relative to the rootfs, refusing any that leave it.
 */
final class EntryNames {

    private EntryNames() {}

    /**
     * Normalises {@code name}: drops empty and {@code .} components and resolves {@code ..} lexically.
     * {@code ./usr//bin/} becomes {@code usr/bin}; the root itself ({@code ./}) becomes the empty string.
     *
     * @param what the name's role, for messages ("name", "hardlink target")
     * @throws EntryRejectedException if the name is empty or absolute, contains NUL, or climbs above
     *     the root ({@code ../x}, {@code a/../../x})
     */
    static String normalize(String name, String what) {
        if (name.isEmpty()) {
            throw new EntryRejectedException("its " + what + " is empty");
        }
        if (name.startsWith("/")) {
            throw new EntryRejectedException("its " + what + " '" + name + "' is absolute");
        }
        if (name.indexOf('\0') >= 0) {
            throw new EntryRejectedException("its " + what + " contains a NUL byte");
        }
        Deque<String> components = new ArrayDeque<>();
        for (String component : name.split("/")) {
            if (component.isEmpty() || component.equals(".")) {
                continue;
            }
            if (component.equals("..")) {
                if (components.isEmpty()) {
                    throw new EntryRejectedException(
                            "its " + what + " '" + name + "' climbs out of the rootfs with '..'");
                }
                components.removeLast();
            } else {
                components.addLast(component);
            }
        }
        return String.join("/", components);
    }

    /** How deep {@code relative} is: 0 for the root, 1 for {@code etc}, 2 for {@code etc/passwd}. */
    static int depth(String relative) {
        return relative.isEmpty()
                ? 0
                : (int) relative.chars().filter(c -> c == '/').count() + 1;
    }
}
