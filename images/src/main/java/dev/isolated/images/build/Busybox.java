package dev.isolated.images.build;

import java.nio.file.Path;
import java.util.List;

/**
 * A statically linked busybox on the host and the canonical paths of its applets.
 *
 * @param binary the busybox executable
 * @param applets the applets' paths relative to the root, as {@code busybox --list-full} prints them
 *     (e.g. {@code bin/ls}, {@code usr/bin/env}), sorted
 */
public record Busybox(Path binary, List<String> applets) {

    /** Copies the list. */
    public Busybox {
        applets = List.copyOf(applets);
    }
}
