package dev.isolated;

/**
 * Who the user running the tests is inside the environment's user namespace ({@link Namespace#USER}, which
 * is added when not running as root). Without a user namespace (root, USER not asked for) it does not matter.
 */
public enum UserMapping {
    /** The caller is root (0) inside, its only id (default): root inside can mount, chown to 0, and so on. */
    ROOT,
    /**
     * The caller keeps its own uid and gid inside ({@code id -u} prints it), its only ids; commands have no
     * capabilities then. Files it creates belong to it, as outside.
     */
    SELF,
    /**
     * The caller is root inside and its subordinate ids are 1, 2, ... inside, so {@code chown 1000:1000}
     * works. Needs a line {@code user:100000:65536} in {@code /etc/subuid} and {@code /etc/subgid} and the
     * setuid {@code newuidmap}/{@code newgidmap} (Debian/Ubuntu package {@code uidmap}); without them the
     * environment cannot be created, and the error says what to add. As root it maps ids 0 to 65535 as they
     * are, with neither.
     */
    SUBIDS
}
