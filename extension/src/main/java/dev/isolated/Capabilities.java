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
     * its network namespace. They act on the environment's own namespaces only, also when the tests run as real
     * root: every environment has a user namespace (see {@link Namespace#USER}), so root inside cannot load
     * kernel modules, set the clock, mount a cgroup v1 hierarchy or a sysfs of the host, open files by handle, or
     * signal or trace processes of the host or of another environment.
     */
    ALL
}
