package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * The Linux namespaces an {@link Isolated} environment can be given, each a fresh one made for the
 * environment alone.
 *
 * <p>The default set is {@code PID, MOUNT, UTS, IPC, NET, CGROUP}: commands see their own process tree with the
 * environment's init as PID 1, only the environment's mounts (the image's rootfs as {@code /}), their own
 * hostname, a network of their own with only {@code lo} (none of the host's {@code 127.0.0.1} services, abstract
 * unix sockets or loopback traffic), and their own cgroup as {@code /}. Leaving one out is a visible choice in
 * {@link Isolated#namespaces()}. A user namespace ({@link #USER}) is always added, whether asked for or not;
 * {@link #TIME} only matters with clock offsets.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public enum LinuxNamespace {
    /**
     * Own process ids: the environment's init (or, with {@link IsolatedEnvironment#execAsPid1}, the command) is PID 1,
     * and closing the environment kills every process in it, also those that daemonized. Without it, closing kills
     * every process in the environment's cgroup (each environment has one where the helper can make it: as root,
     * or rootless in a delegated cgroup v2), also a daemon that double-forked away and left every namespace.
     * Without a cgroup it kills the processes the environment started, then every process left in one of the
     * environment's other namespaces (so a daemon that double-forked away is killed too, unless it left all of
     * them; the environment always has its own {@link #USER}). Without it the environment's {@code /proc} is
     * empty: a {@code /proc} can only be mounted for a PID namespace that the environment's user namespace owns.
     */
    PID("pid"),
    /** Own mount table: the image's rootfs is entered with {@code pivot_root}; nothing mounted inside reaches the host. */
    MOUNT("mount"),
    /** Own hostname and domain name. */
    UTS("uts"),
    /** Own System V IPC objects and POSIX message queues. */
    IPC("ipc"),
    /** Own network stack with only {@code lo}, brought up: tests can bind the same port in parallel. */
    NET("net"),
    /**
     * Own user and group ids. Every environment has one, asked for or not, so that root inside is never root
     * outside. Run as an ordinary user, the caller is root inside as {@link UserMapping} says. Run as real root,
     * ids 0 to 65535 inside are a range of 65536 host ids of the environment's own, whatever the
     * {@link UserMapping}: its base a multiple of 65536 from 2^30 (1073741824) up to below 2^31, skipping ranges
     * that {@code /etc/subuid}, {@code /etc/subgid}, {@code /etc/passwd} or {@code /etc/group} claim, taken with
     * a lock under {@code /run/isolated/userns} until the environment is closed, so that two environments
     * (also of other JVMs) never share one ({@code cat /proc/self/uid_map} inside shows
     * {@code 0 <base> 65536}). Even with {@link Capabilities#ALL} root inside then holds nothing over the host or
     * another environment. The image's files are idmapped and keep their owners inside ({@code ls -ln /bin}
     * shows 0); what root inside creates belongs to the range on the host: in a writable bind, base + uid
     * (see {@link Bind}).
     */
    USER("user"),
    /**
     * Own cgroup root: {@code /proc/self/cgroup} shows {@code /} (the environment's own cgroup, when it has one), and a
     * cgroupfs mounted inside shows only that cgroup's subtree.
     */
    CGROUP("cgroup"),
    /** Own monotonic and boot-time clocks (the wall clock cannot be shifted by any namespace). */
    TIME("time");

    private final String helperName;

    LinuxNamespace(String helperName) {
        this.helperName = helperName;
    }

    /**
     * The name the native helper and {@code nsenter}-style tools use, e.g. {@code "mount"}.
     *
     * @return the lower-case short name of this namespace
     */
    public String shortName() {
        return helperName;
    }

    /**
     * Parses a namespace name as written in configuration ({@code "PID"}, {@code "pid"}, {@code "mnt"} and
     * {@code "mount"} are all accepted).
     *
     * @param name the name to parse
     * @return the namespace
     * @throws IllegalArgumentException naming the allowed values when {@code name} is not one of them
     */
    public static LinuxNamespace parse(String name) {
        String n = name.trim().toLowerCase(java.util.Locale.ROOT);
        if (n.equals("mnt")) {
            return MOUNT;
        }
        if (n.equals("network")) {
            return NET;
        }
        for (LinuxNamespace ns : values()) {
            if (ns.helperName.equals(n)) {
                return ns;
            }
        }
        throw new IllegalArgumentException(
                "Unknown namespace '" + name + "': use one of " + java.util.Arrays.toString(values()));
    }
}
