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

    /**
     * Why a name the image holds cannot be a file name here: the JVM's locale gives it a charset (such as
     * {@code ANSI_X3.4-1968}, for {@code LANG} unset or {@code C}) that cannot encode the name's characters.
     */
    static String notAFileName() {
        return "its name or link target has characters this JVM cannot use in a file name (its locale gives it"
                + " sun.jnu.encoding=" + System.getProperty("sun.jnu.encoding") + ", file.encoding="
                + System.getProperty("file.encoding") + "); run the JVM with a UTF-8 locale, e.g. LANG=C.UTF-8";
    }

    /** How deep {@code relative} is: 0 for the root, 1 for {@code etc}, 2 for {@code etc/passwd}. */
    static int depth(String relative) {
        return relative.isEmpty()
                ? 0
                : (int) relative.chars().filter(c -> c == '/').count() + 1;
    }
}
