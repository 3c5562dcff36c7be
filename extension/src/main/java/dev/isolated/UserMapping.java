package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * Who the user running the tests is inside the environment's user namespace ({@link LinuxNamespace#USER}, which
 * every environment has), when the tests do not run as root. As real root every mapping is the same: ids 0 to
 * 65535 inside are the environment's own host range (see {@link LinuxNamespace#USER}), and commands run as 0 inside;
 * no mapping makes anything inside the host's root.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public enum UserMapping {
    /**
     * The caller is root (0) inside, its only id (default), with the capabilities of {@link Capabilities}: root
     * inside owns the image's files and can chown to 0, and with {@link Capabilities#ALL} it can also mount and set the
     * hostname, as real root's environments can.
     */
    ROOT,
    /**
     * The caller keeps its own uid and gid inside ({@code id -u} prints it), its only ids; commands have no
     * capabilities then. Files it creates belong to it, as outside. As root this would be host root inside, so
     * it is the same as {@link #ROOT}: 0 inside, the environment's range outside.
     */
    SELF,
    /**
     * The caller is root inside and its subordinate ids are 1, 2, ... inside, so {@code chown 1000:1000}
     * works. Needs a line {@code user:100000:65536} in {@code /etc/subuid} and {@code /etc/subgid} and the
     * setuid {@code newuidmap}/{@code newgidmap} (Debian/Ubuntu package {@code uidmap}); without them the
     * environment cannot be created, and the error says what to add. As root it needs neither: ids 0 to 65535
     * inside are the environment's own range, as with the other mappings.
     */
    SUBIDS
}
