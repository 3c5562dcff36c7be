package dev.isolated;

/** Which Linux capabilities the environment's root keeps (in the environment's own namespaces). */
public enum Capabilities {
    /**
     * All of them, as with {@code unshare}: root inside can mount, set the hostname, change ownership. Always
     * limited to the environment's namespaces, and no process can gain more through set-uid files
     * ({@code no_new_privs} is always set).
     */
    ALL,
    /** Docker's default set: no mount, no sysadmin, no raw I/O; for code that must run as a container would. */
    DOCKER_DEFAULT
}
