package dev.isolated;

/**
 * Which Linux capabilities the environment's root keeps. No process can gain more through set-uid files:
 * {@code no_new_privs} is always set.
 */
public enum Capabilities {
    /**
     * Docker's default set (the default): {@code CHOWN}, {@code DAC_OVERRIDE}, {@code FOWNER}, {@code FSETID},
     * {@code KILL}, {@code SETUID}, {@code SETGID}, {@code SETPCAP}, {@code SETFCAP}, {@code NET_BIND_SERVICE},
     * {@code NET_RAW}, {@code SYS_CHROOT}, {@code MKNOD}, {@code AUDIT_WRITE}. Root inside owns files and
     * binds low ports, but cannot mount, set the hostname from a shell (use {@link Isolated#hostname()} or
     * {@link IsolatedEnvironment#setHostname}), load modules, set the clock or configure the network, just
     * as in {@code docker run}.
     */
    DOCKER_DEFAULT,
    /**
     * All of them, as with {@code unshare}: root inside can also mount, run {@code hostname NAME}, configure
     * its network namespace. With a user namespace (always when the tests do not run as root) they act on the
     * environment's own namespaces only. When the tests run as real root without {@link Namespace#USER},
     * this is the host's root minus {@code /proc}'s protections: it could load kernel modules or set the
     * host's clock. Add {@code Namespace.USER} to such environments when the code under test is not trusted.
     */
    ALL
}
