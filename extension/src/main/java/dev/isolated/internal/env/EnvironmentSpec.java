package dev.isolated.internal.env;

import dev.isolated.Namespace;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;

/**
 * What an environment is made of, fully resolved: the unpacked rootfs directory, the namespaces, the
 * hostname and the default timeout of its commands.
 *
 * @param rootfs the unpacked image, used read-only as the lower layer of the environment's root
 * @param namespaces the namespaces to create
 * @param hostname the hostname, empty for none (needs UTS)
 * @param execTimeout how long {@code exec} waits before stopping a command
 */
public record EnvironmentSpec(Path rootfs, Set<Namespace> namespaces, String hostname, Duration execTimeout) {

    /** Validates and copies the namespaces. */
    public EnvironmentSpec {
        namespaces = namespaces.isEmpty() ? EnumSet.noneOf(Namespace.class) : EnumSet.copyOf(namespaces);
        if (!hostname.isEmpty() && !namespaces.contains(Namespace.UTS)) {
            throw new IllegalArgumentException("hostname \"" + hostname + "\" needs the UTS namespace: add Namespace.UTS "
                    + "to namespaces, or drop the hostname");
        }
    }

    String namespaceList() {
        StringBuilder sb = new StringBuilder();
        for (Namespace ns : namespaces) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(ns.shortName());
        }
        return sb.toString();
    }
}
