package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * Which Linux capabilities the environment's root keeps. No process can gain more through set-uid files:
 * {@code no_new_privs} is always set.
 *
 * <p>Leaving a namespace out is a visible choice, and with either value Isolated removes (from every set,
 * bounding set included) what that choice would expose: without {@link LinuxNamespace#MOUNT} (the environment is a
 * plain {@code chroot}) {@code SYS_CHROOT}, so the classic chroot escape ({@code mkdir x; chroot x; cd ../..;
 * chroot .}) fails with {@code EPERM}; without {@link LinuxNamespace#NET} (the host's network) {@code NET_RAW} and
 * {@code NET_ADMIN}, so no raw or packet socket can sniff the host's traffic, loopback included, and no
 * interface or route of the host can be changed. So the environment's root gets:
 * <ul>
 *   <li>{@link #DOCKER_DEFAULT}: Docker's 14; minus {@code SYS_CHROOT} without {@code MOUNT}; minus
 *       {@code NET_RAW} without {@code NET}. With the default namespaces ({@code PID, MOUNT, UTS, IPC, NET,
 *       CGROUP}) that is Docker's 14 ({@code CapEff} {@code 00000000a80425fb}); without {@code NET}, 13: Docker's
 *       without {@code NET_RAW} ({@code CapEff} {@code 00000000a80405fb}).</li>
 *   <li>{@link #ALL}: every capability but {@code SYS_PTRACE}; minus {@code SYS_CHROOT} without {@code MOUNT};
 *       minus {@code NET_RAW} and {@code NET_ADMIN} without {@code NET}.</li>
 * </ul>
 * A command run as another user than root has none. Without {@code NET}, {@code ping} works only where the
 * host's {@code net.ipv4.ping_group_range} lets the environment's group open ICMP sockets; with {@code NET} it
 * works as root, which keeps {@code NET_RAW} there.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public enum Capabilities {
    /**
     * Docker's default set (the default): {@code CHOWN}, {@code DAC_OVERRIDE}, {@code FOWNER}, {@code FSETID},
     * {@code KILL}, {@code SETUID}, {@code SETGID}, {@code SETPCAP}, {@code SETFCAP}, {@code NET_BIND_SERVICE},
     * {@code NET_RAW} (only with {@link LinuxNamespace#NET}), {@code SYS_CHROOT} (only with {@link LinuxNamespace#MOUNT}),
     * {@code MKNOD}, {@code AUDIT_WRITE}. Root inside owns files and
     * binds low ports, but cannot mount, set the hostname from a shell (use {@link Isolated#hostname()} or
     * {@link IsolatedEnvironment#setHostname}), load modules, set the clock or configure the network, just
     * as in {@code docker run}.
     */
    DOCKER_DEFAULT,
    /**
     * All of them but {@code SYS_PTRACE} (and but {@code SYS_CHROOT} without {@link LinuxNamespace#MOUNT},
     * {@code NET_RAW} and {@code NET_ADMIN} without {@link LinuxNamespace#NET}), as with {@code unshare}; without
     * {@code SYS_PTRACE} no command can trace the environment's init, which holds every capability and runs
     * without the seccomp filter (a command still traces its own processes, e.g. with {@code strace}): root inside can also mount, run
     * {@code hostname NAME}, configure its network namespace. They act on the environment's own namespaces only,
     * also when the tests run as real root: every environment has a user namespace (see {@link LinuxNamespace#USER}),
     * so root inside cannot load kernel modules, set the clock, mount a cgroup v1 hierarchy or a sysfs of the
     * host, open files by handle, or signal or trace processes of the host or of another environment.
     */
    ALL
}
