package dev.isolated.images.build;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;

/**
 * Finds the host's busybox, checks that it is statically linked (it must run inside an image that has
 * no libc) and lists its applets.
 */
public final class BusyboxLocator {

    /** Where Debian and Ubuntu's {@code busybox-static} installs it, in the order tried. */
    public static final List<Path> STANDARD_LOCATIONS = List.of(Path.of("/bin/busybox"), Path.of("/usr/bin/busybox"));

    private static final String INSTALL_HINT = "Install a statically linked busybox: on Debian/Ubuntu the package "
            + "busybox-static (apt-get install busybox-static; it replaces the dynamically linked busybox).";

    private final List<Path> candidates;

    /**
     * @param candidates the paths to try, in order; the first that exists is used
     */
    public BusyboxLocator(List<Path> candidates) {
        this.candidates = List.copyOf(candidates);
    }

    /** A locator over {@link #STANDARD_LOCATIONS}. */
    public static BusyboxLocator standard() {
        return new BusyboxLocator(STANDARD_LOCATIONS);
    }

    /**
     * Finds busybox and lists its applets.
     *
     * @throws ImageBuildException if busybox is missing, not statically linked or cannot list its applets
     */
    public Busybox locate() {
        Path binary = candidates.stream()
                .filter(Files::isRegularFile)
                .findFirst()
                .orElseThrow(
                        () -> new ImageBuildException("busybox not found (tried " + candidates + "). " + INSTALL_HINT));
        checkStaticallyLinked(binary);
        return new Busybox(binary, listApplets(binary));
    }

    private static void checkStaticallyLinked(Path binary) {
        try {
            if (ElfFile.read(binary).hasInterpreter()) {
                throw new ImageBuildException(binary + " is dynamically linked (its ELF headers name an interpreter, "
                        + "PT_INTERP), so it cannot run inside an image without libc. " + INSTALL_HINT);
            }
        } catch (IOException e) {
            throw new ImageBuildException("Cannot read " + binary + ": " + e.getMessage() + ". " + INSTALL_HINT, e);
        }
    }

    private static List<String> listApplets(Path binary) {
        String output = Command.run(List.of(binary.toString(), "--list-full"), binary.getParent(), INSTALL_HINT);
        TreeSet<String> applets = new TreeSet<>();
        for (String line : output.split("\n")) {
            String applet = line.strip();
            if (applet.isEmpty()) {
                continue;
            }
            if (applet.startsWith("/")
                    || applet.endsWith("/")
                    || List.of(applet.split("/")).contains("..")) {
                throw new ImageBuildException(binary + " --list-full printed an unexpected path '" + applet
                        + "'; expected relative paths like bin/ls");
            }
            applets.add(applet);
        }
        if (applets.isEmpty()) {
            throw new ImageBuildException(binary + " --list-full printed no applets. " + INSTALL_HINT);
        }
        return List.copyOf(applets);
    }
}
