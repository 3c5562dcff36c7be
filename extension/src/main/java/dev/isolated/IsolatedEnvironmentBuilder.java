package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import dev.isolated.image.ImageConfig;
import dev.isolated.internal.env.Environment;
import dev.isolated.internal.env.EnvironmentSpec;
import dev.isolated.internal.env.ExtraMount;
import dev.isolated.internal.env.FrozenLayer;
import dev.isolated.internal.env.Hostnames;
import dev.isolated.internal.env.LayerSpec;
import dev.isolated.internal.helper.HelperConnection;
import dev.isolated.internal.helper.SharedHelper;
import dev.isolated.internal.image.ImageSettingsException;
import dev.isolated.internal.image.RootfsImages;
import dev.isolated.internal.image.UnpackedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.apiguardian.api.API;

/**
 * Builds an {@link IsolatedEnvironment} in code; get one from {@link IsolatedEnvironment#builder()}. The
 * defaults are those of {@link Isolated}. The caller closes what {@link #start()} returns.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public final class IsolatedEnvironmentBuilder {
    private String rootfs = "";
    private String image = "";
    /** What the helper is asked for, with its defaults; the image completes it in {@link #start()}. */
    private final EnvironmentSpec.Builder spec = EnvironmentSpec.builder();

    private ClassLoader classLoader = Thread.currentThread().getContextClassLoader();
    // networks as objects and host access (IsolatedNetwork, exposeHostPort)
    private IsolatedNetwork networkObject;
    private List<String> networkAliases = List.of();
    private final Set<Integer> hostPorts = new java.util.LinkedHashSet<>();
    private Function<String, Optional<String>> configuration = new SystemProperties();
    private Wait serviceWait; // startImageCommand: null for no wait
    private String[] serviceArgs; // startImageCommand: null for no service
    private Duration startupTimeout; // null: configured or default
    private Duration execTimeout; // null: configured or default
    private Duration awaitTimeout; // null: configured or default
    private LayerStorage layerStorage = LayerStorage.DEFAULT;
    private String tmpfsSize = "";
    private FrozenState frozen;

    IsolatedEnvironmentBuilder() {}

    /**
     * Sets the image, by resource name or path.
     *
     * @param rootfs the image: a class path resource such as {@code "busybox.tar"}, or a path (see {@link Isolated#rootfs()});
     *     {@code ""} unsets it, as {@code @Isolated}'s default does
     * @return this builder
     */
    public IsolatedEnvironmentBuilder rootfs(String rootfs) {
        this.rootfs = Objects.requireNonNull(rootfs);
        return this;
    }

    /**
     * The environment's root filesystem is the image {@code name} from a registry, named as Docker names it:
     * {@code "postgres:16"} is {@code docker.io/library/postgres:16}, {@code "ghcr.io/org/app:1.4"},
     * {@code "127.0.0.1:5000/team/app@sha256:<hex>"} (pinned by digest). It is pulled into the image store
     * as {@value IsolatedConfiguration#PULL} says and unpacked once; its config applies as an archive's does
     * (see {@link Isolated#image()}). Give either this or {@link #rootfs(String)}, not both.
     *
     * @param name the image name; {@code ""} unsets it, as {@code @Isolated}'s default does
     * @return this builder
     * @throws IllegalArgumentException if {@code name} is not an image name
     */
    public IsolatedEnvironmentBuilder image(String name) {
        Objects.requireNonNull(name);
        if (!name.isEmpty()) {
            dev.isolated.internal.registry.ImageName.parse(name);
        }
        this.image = name;
        return this;
    }

    /**
     * Sets the image, by path.
     *
     * @param rootfs a tar or directory on the host
     * @return this builder
     */
    public IsolatedEnvironmentBuilder rootfs(Path rootfs) {
        return rootfs(rootfs.toAbsolutePath().toString());
    }

    /**
     * Sets the namespaces the environment gets.
     *
     * @param namespaces the namespaces to create (default {@code PID, MOUNT, UTS, IPC, NET, CGROUP}, see
     *     {@link Isolated#namespaces()}); {@link LinuxNamespace#USER} is always added (see {@link LinuxNamespace#USER})
     * @return this builder
     */
    public IsolatedEnvironmentBuilder namespaces(LinuxNamespace... namespaces) {
        spec.namespaces(
                namespaces.length == 0
                        ? EnumSet.noneOf(LinuxNamespace.class)
                        : EnumSet.copyOf(Arrays.asList(namespaces)));
        return this;
    }

    /**
     * @param first a namespace to create
     * @param more more of them
     * @return this builder, as {@link #namespaces(LinuxNamespace...)} with the namespaces of the same names
     * @deprecated {@link Namespace} is renamed {@link LinuxNamespace}: use {@link #namespaces(LinuxNamespace...)}
     */
    @Deprecated(since = "0.1", forRemoval = true)
    @SuppressWarnings("removal")
    public IsolatedEnvironmentBuilder namespaces(Namespace first, Namespace... more) {
        return namespaces(Namespace.linuxNamespaces(first, more));
    }

    /**
     * Sets the environment's hostname.
     *
     * @param hostname the hostname (needs {@link LinuxNamespace#UTS}: without it {@link #start()} throws an
     *     {@link IllegalArgumentException}, {@code hostname "NAME" needs the UTS namespace: add LinuxNamespace.UTS
     *     to namespaces, or drop the hostname}, before the image is read or anything is made); empty (the default)
     *     for {@code isolated} with {@code UTS} (never the host's name), the host's own hostname without it
     * @return this builder
     * @throws IllegalArgumentException when it is not a valid hostname: at most 64 bytes (the kernel's
     *     {@code HOST_NAME_MAX}) of letters, digits, hyphens and dots, in labels of 1 to 63 characters that
     *     neither start nor end with a hyphen (RFC 1123); the message names the hostname and this rule
     */
    public IsolatedEnvironmentBuilder hostname(String hostname) {
        spec.hostname(Objects.requireNonNull(hostname).isEmpty() ? hostname : Hostnames.check(hostname));
        return this;
    }

    /**
     * Mounts a host file or directory read-only, as {@code @Bind(source, target)} does: {@code nosuid,nodev},
     * with its submounts (see {@link Bind}). Binds add up, in the order given.
     *
     * @param source a host file or directory
     * @param target the absolute path inside the environment
     * @return this builder
     * @throws IllegalArgumentException when {@code target} is not absolute
     */
    public IsolatedEnvironmentBuilder bind(Path source, String target) {
        return addBind(source, target, true);
    }

    /**
     * Mounts a host file or directory that the environment may write through, as
     * {@code @Bind(source, target, readOnly = false)} does: {@code nosuid,nodev}, with its submounts (see
     * {@link Bind}).
     *
     * @param source a host file or directory
     * @param target the absolute path inside the environment
     * @return this builder
     * @throws IllegalArgumentException when {@code target} is not absolute
     */
    public IsolatedEnvironmentBuilder bindWritable(Path source, String target) {
        return addBind(source, target, false);
    }

    /**
     * The form before {@link #bind(Path, String)} and {@link #bindWritable(Path, String)}: it calls the one that
     * {@code readOnly} chooses. Deprecated in 0.1.0, removed in the release after it.
     *
     * @param hostSource a host file or directory
     * @param target where it appears inside the environment
     * @param readOnly whether it is mounted read-only; either way it is {@code nosuid,nodev}, as {@link Bind}
     * @return this builder
     * @deprecated use {@link #bind(Path, String)} (read-only) or {@link #bindWritable(Path, String)}
     */
    @Deprecated(since = "0.1.0", forRemoval = true)
    public IsolatedEnvironmentBuilder bind(Path hostSource, String target, boolean readOnly) {
        return readOnly ? bind(hostSource, target) : bindWritable(hostSource, target);
    }

    /** A bind of {@code @Bind} or of the builder: {@code readOnly} as the annotation says it. */
    IsolatedEnvironmentBuilder addBind(Path source, String target, boolean readOnly) {
        spec.mount(new ExtraMount(ExtraMount.Kind.BIND, source.toAbsolutePath().toString(), target, readOnly, 0));
        return this;
    }

    /**
     * Mounts a fresh tmpfs, as {@code @Tmpfs(target, sizeBytes)} does.
     *
     * @param target where a fresh tmpfs is mounted inside the environment
     * @param sizeBytes its size limit, 0 for the kernel's default (half the RAM)
     * @return this builder
     * @throws IllegalArgumentException when {@code sizeBytes} is negative ({@code IsolatedEnvironmentBuilder.tmpfs(/cache,
     *     -1): a size is 0 (the kernel's default) or more})
     */
    public IsolatedEnvironmentBuilder tmpfs(String target, long sizeBytes) {
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("IsolatedEnvironmentBuilder.tmpfs(" + target + ", " + sizeBytes
                    + "): a size is 0 (the kernel's default) or more");
        }
        spec.mount(new ExtraMount(ExtraMount.Kind.TMPFS, "", target, false, sizeBytes));
        return this;
    }

    /**
     * Sets whether the rootfs is read-only.
     *
     * @param readOnly whether the rootfs is read-only, so that stray writes fail with EROFS ({@code /tmp},
     *     {@code /dev}, tmpfs mounts and writable binds stay writable)
     * @return this builder
     */
    public IsolatedEnvironmentBuilder readOnlyRootfs(boolean readOnly) {
        spec.readOnlyRootfs(readOnly);
        return this;
    }

    /**
     * Sets an environment variable for every command of the environment ({@code exec}, {@code start},
     * {@code execAsPid1}, {@code enter(...)}, {@code processBuilder}): it overrides {@code PATH}, {@code HOME} and
     * the image's {@code Env} of the same name, and {@link Command#withEnv} overrides it. A later call for the same
     * name replaces the earlier value.
     *
     * @param name the variable's name (not empty, without {@code =})
     * @param value its value
     * @return this builder
     * @throws IllegalArgumentException when the name is empty or holds {@code =}
     */
    public IsolatedEnvironmentBuilder env(String name, String value) {
        if (name.isEmpty() || name.indexOf('=') >= 0) {
            throw new IllegalArgumentException("IsolatedEnvironmentBuilder.env(\"" + name + "\", ...): not an "
                    + "environment variable name; give the name and the value apart, e.g. env(\"PGDATA\", \"/data\")");
        }
        spec.env(name, value);
        return this;
    }

    /**
     * Sets the default working directory of commands.
     *
     * @param directory the working directory of every command that names none with
     *     {@link Command#withWorkingDirectory} (default: the image's {@code WorkingDir}, else {@code /}); an
     *     absolute path inside the environment; when it does not exist there, commands exit with 125 and say so
     *     on stderr (it is not made, unlike a missing {@code WorkingDir} of the image)
     * @return this builder
     * @throws IllegalArgumentException when it is not absolute
     */
    public IsolatedEnvironmentBuilder workingDirectory(String directory) {
        if (!directory.startsWith("/")) {
            throw new IllegalArgumentException("IsolatedEnvironmentBuilder.workingDirectory(\"" + directory
                    + "\"): the working directory must be an absolute path inside the environment, e.g. \"/"
                    + directory + "\"");
        }
        spec.workingDirectory(directory);
        return this;
    }

    /**
     * Runs every command that names no user with {@link Command#withUser} as this user, instead of the image's
     * {@code User} (or root): {@code "postgres"}, {@code "1000"}, {@code "postgres:postgres"},
     * {@code "1000:1000"}, as {@code docker run --user} takes it. It is looked up in the environment's own
     * {@code /etc/passwd} and {@code /etc/group} at the first command, as {@link Command#withUser(String)}
     * describes; an unknown name fails each command that would run as it with an {@link IsolatedException}
     * such as {@code The environment's user "postgres" (@Isolated(user), builder().user): no user "postgres" in
     * the environment's /etc/passwd; add the user to the image, or give numeric ids such as "1000:1000"}.
     * Rootless, a non-zero id needs {@link UserMapping#SUBIDS}.
     *
     * @param user a name or uid, optionally followed by {@code :} and a group name or gid; empty for the
     *     image's {@code User}
     * @return this builder
     * @throws IllegalArgumentException when it is not of that form
     */
    public IsolatedEnvironmentBuilder user(String user) {
        spec.user(
                user.isEmpty()
                        ? user
                        : dev.isolated.internal.env.ResolvedUser.checkForm(user, "IsolatedEnvironmentBuilder.user"));
        return this;
    }

    /**
     * Sets the default timeout of {@code exec}.
     *
     * @param timeout how long {@code exec} waits before stopping a command; unless given, the system property
     *     {@value IsolatedConfiguration#EXEC_TIMEOUT}, else 60 s; one too long to expire (up to
     *     {@code ChronoUnit.FOREVER.getDuration()}) waits as long as the command runs
     * @return this builder
     * @throws IllegalArgumentException when it is zero or negative
     */
    public IsolatedEnvironmentBuilder execTimeout(Duration timeout) {
        this.execTimeout = positive("execTimeout", timeout);
        spec.execTimeout(timeout);
        return this;
    }

    /**
     * Sets how long the {@code await...} methods wait.
     *
     * @param timeout how long the {@code await...} methods wait; unless given, the system property
     *     {@value IsolatedConfiguration#AWAIT_TIMEOUT}, else 30 s; one too long to expire (up to
     *     {@code ChronoUnit.FOREVER.getDuration()}) waits as long as it takes
     * @return this builder
     * @throws IllegalArgumentException when it is zero or negative
     */
    public IsolatedEnvironmentBuilder awaitTimeout(Duration timeout) {
        this.awaitTimeout = positive("awaitTimeout", timeout);
        spec.awaitTimeout(timeout);
        return this;
    }

    /**
     * The memory limit of the environment's cgroup ({@code memory.max}), as {@code @Limits(memoryBytes)}; an
     * OOM-killed command has {@link ExecResult#oomKilled()} set. See {@link Limits} for what the host must allow.
     *
     * @param bytes the limit in bytes; 0 for none
     * @return this builder
     * @throws IllegalArgumentException when {@code bytes} is negative ({@code IsolatedEnvironmentBuilder.memoryBytes(-1):
     *     a limit is 0 (none) or more}), as for each limit of {@link Limits}
     */
    public IsolatedEnvironmentBuilder memoryBytes(long bytes) {
        spec.memoryBytes(notNegative("memoryBytes", bytes));
        return this;
    }

    /**
     * The most processes and threads at once in the environment's cgroup ({@code pids.max}), as
     * {@code @Limits(pids)}.
     *
     * @param max the limit; 0 for none
     * @return this builder
     * @throws IllegalArgumentException when {@code max} is negative
     */
    public IsolatedEnvironmentBuilder pids(int max) {
        spec.pids((int) notNegative("pids", max));
        return this;
    }

    /**
     * The CPU share of the environment's cgroup ({@code cpu.max}), as {@code @Limits(cpuPercent)}.
     *
     * @param percent percent of one CPU, e.g. 50 or 200; 0 for none
     * @return this builder
     * @throws IllegalArgumentException when {@code percent} is negative
     */
    public IsolatedEnvironmentBuilder cpuPercent(int percent) {
        spec.cpuPercent((int) notNegative("cpuPercent", percent));
        return this;
    }

    /**
     * The open-file limit of every process ({@link Rlimit#NOFILE}), as {@code @Limits(openFiles)}; needs no cgroup.
     *
     * @param max the limit; 0 keeps the inherited one, as in {@code @Limits}
     * @return this builder
     * @throws IllegalArgumentException when {@code max} is negative
     */
    public IsolatedEnvironmentBuilder openFiles(int max) {
        return limitUnlessZero(Rlimit.NOFILE, notNegative("openFiles", max));
    }

    /**
     * The largest file a process may write ({@link Rlimit#FSIZE}), as {@code @Limits(fileSizeBytes)}; needs no
     * cgroup.
     *
     * @param bytes the limit in bytes; 0 for no limit, as in {@code @Limits}
     * @return this builder
     * @throws IllegalArgumentException when {@code bytes} is negative
     */
    public IsolatedEnvironmentBuilder fileSizeBytes(long bytes) {
        return limitUnlessZero(Rlimit.FSIZE, notNegative("fileSizeBytes", bytes));
    }

    /**
     * The CPU seconds a process may use ({@link Rlimit#CPU}), as {@code @Limits(cpuSeconds)}; needs no cgroup.
     *
     * @param seconds the limit in seconds; 0 for no limit, as in {@code @Limits}
     * @return this builder
     * @throws IllegalArgumentException when {@code seconds} is negative
     */
    public IsolatedEnvironmentBuilder cpuSeconds(int seconds) {
        return limitUnlessZero(Rlimit.CPU, notNegative("cpuSeconds", seconds));
    }

    /** A limit of {@link Limits}: 0 for none, never negative (which would silently limit nothing). */
    private static long notNegative(String method, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(
                    "IsolatedEnvironmentBuilder." + method + "(" + value + "): a limit is 0 (none) or more");
        }
        return value;
    }

    /** {@code @Limits}' rlimits: 0 sets none (and drops one set before). */
    private IsolatedEnvironmentBuilder limitUnlessZero(Rlimit limit, long value) {
        if (value == 0) {
            spec.clearRlimit(limit.helperName());
            return this;
        }
        return rlimit(limit, value);
    }

    /**
     * An rlimit of every process of the environment, soft and hard alike; a later call for the same limit
     * replaces the earlier value.
     *
     * @param limit the limit
     * @param value its value (bytes, seconds or a count, as {@link Rlimit} says); at most the JVM's hard limit
     *     ({@code ulimit -H}), which no environment can raise: with a higher one {@link #start()} fails with an
     *     {@link EnvironmentSetupException} at stage {@code rlimit} naming the limit, the value and that hard limit
     * @return this builder
     * @throws IllegalArgumentException when {@code value} is negative ({@code IsolatedEnvironmentBuilder.rlimit(NOFILE,
     *     -1): a limit is 0 or more})
     */
    public IsolatedEnvironmentBuilder rlimit(Rlimit limit, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(
                    "IsolatedEnvironmentBuilder.rlimit(" + limit + ", " + value + "): a limit is 0 or more");
        }
        spec.rlimit(limit.helperName(), value);
        return this;
    }

    /**
     * The name before {@link #memoryBytes(long)}, which it calls. Deprecated in 0.1.0, removed in the release
     * after it.
     *
     * @param bytes the memory limit of the environment's cgroup
     * @return this builder
     * @deprecated use {@link #memoryBytes(long)}, the name of {@link Limits#memoryBytes()}
     */
    @Deprecated(since = "0.1.0", forRemoval = true)
    public IsolatedEnvironmentBuilder memoryLimit(long bytes) {
        return memoryBytes(bytes);
    }

    /**
     * The name before {@link #pids(int)}, which it calls. Deprecated in 0.1.0, removed in the release after it.
     *
     * @param max the most processes and threads at once in the environment
     * @return this builder
     * @deprecated use {@link #pids(int)}, the name of {@link Limits#pids()}
     */
    @Deprecated(since = "0.1.0", forRemoval = true)
    public IsolatedEnvironmentBuilder pidsLimit(int max) {
        return pids(max);
    }

    /**
     * The name before {@link #cpuPercent(int)}, which it calls. Deprecated in 0.1.0, removed in the release
     * after it.
     *
     * @param percent the CPU share in percent of one CPU, e.g. 50
     * @return this builder
     * @deprecated use {@link #cpuPercent(int)}, the name of {@link Limits#cpuPercent()}
     */
    @Deprecated(since = "0.1.0", forRemoval = true)
    public IsolatedEnvironmentBuilder cpuLimit(int percent) {
        return cpuPercent(percent);
    }

    /**
     * The form before {@link #rlimit(Rlimit, long)}: the limit by the helper's name, passed on as it is (an
     * unknown name fails {@link #start()} at stage {@code rlimit}). Deprecated in 0.1.0, removed in the
     * release after it.
     *
     * @param name an rlimit as the helper names it: {@code nofile}, {@code nproc}, {@code cpu}, {@code fsize},
     *     {@code as}, {@code stack}, {@code memlock}, {@code core}
     * @param value the soft and hard limit
     * @return this builder
     * @deprecated use {@link #rlimit(Rlimit, long)}, or {@link #openFiles(int)}, {@link #fileSizeBytes(long)},
     *     {@link #cpuSeconds(int)}
     */
    @Deprecated(since = "0.1.0", forRemoval = true)
    public IsolatedEnvironmentBuilder rlimit(String name, long value) {
        spec.rlimit(name, value);
        return this;
    }

    /**
     * Shifts the environment's clocks through a time namespace (the wall clock cannot be shifted).
     *
     * @param monotonicSeconds seconds added to CLOCK_MONOTONIC
     * @param boottimeSeconds seconds added to CLOCK_BOOTTIME
     * @return this builder
     */
    public IsolatedEnvironmentBuilder clockOffsets(long monotonicSeconds, long boottimeSeconds) {
        spec.clockOffsets(monotonicSeconds, boottimeSeconds);
        return this;
    }

    /**
     * Sets the capabilities the environment's root keeps.
     *
     * @param capabilities what the environment's root keeps ({@link Capabilities#DOCKER_DEFAULT} unless given)
     * @return this builder
     */
    public IsolatedEnvironmentBuilder capabilities(Capabilities capabilities) {
        spec.capabilities(capabilities);
        return this;
    }

    /**
     * Sets whether the environment's cgroup counts resources even without limits.
     *
     * @param track whether the environment's cgroup counts memory and processes even without limits, so that
     *     {@link IsolatedEnvironment#resourceUsage()} works (it needs those controllers, as limits do)
     * @return this builder
     */
    public IsolatedEnvironmentBuilder trackResources(boolean track) {
        spec.trackResources(track);
        return this;
    }

    /**
     * Puts the environment on a private network shared with the other environments that name it: each gets an
     * {@code eth0} with an address there ({@link IsolatedEnvironment#address()}), and their hostnames resolve
     * through {@code /etc/hosts} (the hostnames given with {@link #hostname(String)}: one made without, although
     * named {@code isolated}, is listed under none). The network exists only between those environments; the host's interfaces
     * are never touched. Needs {@link LinuxNamespace#NET}. Works as root and rootless; rootless, the environments of
     * one network must agree on {@link UserMapping#SUBIDS} versus {@link UserMapping#ROOT}/{@link UserMapping#SELF}
     * (those two mix), else {@link #start()} fails with an {@link EnvironmentSetupException} at stage
     * {@code network}.
     *
     * <p>Every environment of the JVM that names it joins the same network; for a network of its own that no
     * other test can join by accident, use {@link IsolatedNetwork#newNetwork()} and
     * {@link #network(IsolatedNetwork, String...)}.
     *
     * @param name the network's name, lower-case letters, digits and dashes, at most 15 characters, not starting
     *     with {@value IsolatedNetwork#GENERATED_PREFIX} (see {@link IsolatedNetwork#named(String)}); empty for none
     * @return this builder
     * @throws IllegalArgumentException when the name breaks these rules, naming it and the rule
     */
    public IsolatedEnvironmentBuilder network(String name) {
        spec.network(Objects.requireNonNull(name).isEmpty() ? name : IsolatedNetwork.checkName(name));
        this.networkObject = null;
        this.networkAliases = List.of();
        return this;
    }

    /**
     * Puts the environment on {@code network} (as {@link #network(String)} does) under its hostname and
     * {@code aliases}: every member's {@code /etc/hosts} lists them, so {@code wget http://db:8080/} from another
     * member works. A name two members have resolves to the one that joined first. When a member joins, its line is
     * added at the end of the others' {@code /etc/hosts}; when it is closed, its line goes from them (their other
     * lines stay, also those their commands added). The environment is closed
     * with the network ({@link IsolatedNetwork#close()}) if it is still open then.
     *
     * @param network the network; {@link #start()} fails with an {@link IllegalStateException} when it is closed
     * @param aliases further names of this environment on the network, valid hostnames
     * @return this builder
     * @throws IllegalArgumentException when an alias is not a valid hostname (see {@link #hostname(String)})
     */
    public IsolatedEnvironmentBuilder network(IsolatedNetwork network, String... aliases) {
        for (String alias : aliases) {
            Hostnames.check(alias);
        }
        this.networkObject = Objects.requireNonNull(network);
        spec.network(network.name());
        this.networkAliases = List.of(aliases);
        return this;
    }

    /**
     * Makes the host's {@code 127.0.0.1:port} reachable inside as {@code host.isolated.internal:port} from the
     * start (see {@link IsolatedEnvironment#exposeHostPort(int)}, which also works later, e.g. for a port
     * chosen by the kernel).
     *
     * @param ports ports of the host's loopback interface, 1..65535
     * @return this builder
     * @throws IllegalArgumentException when a port is not 1..65535
     */
    public IsolatedEnvironmentBuilder exposeHostPorts(int... ports) {
        for (int port : ports) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("exposeHostPorts(" + port + "): a TCP port is 1..65535");
            }
            hostPorts.add(port);
        }
        return this;
    }

    /** After {@link #start()} created it: the host's ports, then the network object's membership. */
    private <E extends IsolatedEnvironment> E joined(E env) {
        try {
            for (int port : hostPorts) {
                env.exposeHostPort(port);
            }
        } catch (RuntimeException e) {
            try {
                env.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        if (networkObject != null) {
            networkObject.add(env);
        }
        return env;
    }

    /**
     * Applies a seccomp filter to every command of the environment, last before exec (as {@code bwrap
     * --seccomp} does): a file holding a compiled classic BPF program, an array of {@code struct sock_filter}
     * in the host's byte order, such as libseccomp's {@code seccomp_export_bpf} writes. It is stacked on the
     * built-in filter (unless {@link #seccomp(Seccomp)} opted out of it): a call either refuses is refused.
     *
     * @param compiledFilter the filter file
     * @return this builder
     */
    public IsolatedEnvironmentBuilder seccompFilter(Path compiledFilter) {
        spec.seccompFilter(compiledFilter.toAbsolutePath().toString());
        return this;
    }

    /**
     * Whether every command runs under the built-in seccomp filter (see {@link Seccomp#DEFAULT}). A filter given
     * with {@link #seccompFilter(Path)} applies in both cases, on top of it.
     *
     * @param seccomp {@link Seccomp#DEFAULT} (unless given) or {@link Seccomp#UNCONFINED}, the opt-out
     * @return this builder
     */
    public IsolatedEnvironmentBuilder seccomp(Seccomp seccomp) {
        spec.seccomp(seccomp);
        return this;
    }

    /**
     * Sets who the user running the tests is inside the user namespace.
     *
     * @param mapping who the user running the tests is inside the user namespace (see {@link UserMapping};
     *     default {@link UserMapping#ROOT})
     * @return this builder
     */
    public IsolatedEnvironmentBuilder userMapping(UserMapping mapping) {
        spec.userMapping(mapping);
        return this;
    }

    /**
     * Has {@link #start()} also start the image's own command as the environment's service and wait until it is
     * ready, as {@link IsolatedEnvironment#startImageCommand(Wait, String...)} does; when it is not,
     * {@link #start()} closes the environment and throws the {@link ServiceNotReadyException}.
     *
     * @param wait when the service is ready
     * @param args the arguments replacing the image's {@code Cmd}; none keeps it
     * @return this builder
     */
    public IsolatedEnvironmentBuilder startImageCommand(Wait wait, String... args) {
        this.serviceWait = Objects.requireNonNull(wait);
        this.serviceArgs = args.clone();
        return this;
    }

    /**
     * Where the environment's writable layer lives (see {@link LayerStorage}).
     *
     * @param storage {@link LayerStorage#DEFAULT} (unless given: {@value IsolatedConfiguration#LAYER_STORAGE},
     *     tmpfs when not set), {@link LayerStorage#TMPFS} or {@link LayerStorage#DISK}
     * @return this builder
     */
    public IsolatedEnvironmentBuilder writableLayer(LayerStorage storage) {
        this.layerStorage = Objects.requireNonNull(storage);
        return this;
    }

    /**
     * Has {@link #start()} also start the image's own command as the environment's service, without waiting
     * (see {@link IsolatedEnvironment#startImageCommand(String...)}).
     *
     * @param args the arguments replacing the image's {@code Cmd}; none keeps it
     * @return this builder
     */
    public IsolatedEnvironmentBuilder startImageCommand(String... args) {
        this.serviceWait = null;
        this.serviceArgs = args.clone();
        return this;
    }

    /**
     * The size of a tmpfs writable layer; writes beyond it fail with ENOSPC ("No space left on device").
     *
     * @param size bytes with an optional {@code k}, {@code m} or {@code g} suffix ({@code 512m}), or a
     *     percentage of RAM ({@code 25%}); empty (unless given): {@value IsolatedConfiguration#LAYER_TMPFS_SIZE},
     *     {@code 50%} when not set
     * @return this builder
     * @throws IllegalArgumentException when {@code size} is neither
     */
    public IsolatedEnvironmentBuilder tmpfsSize(String size) {
        this.tmpfsSize = Objects.requireNonNull(size).isEmpty() ? size : LayerSettings.checkedSize(size, "tmpfsSize");
        return this;
    }

    /**
     * Sets how long a service of the environment may take to be ready.
     *
     * @param timeout how long a service of the environment may take to be ready (see
     *     {@link IsolatedEnvironment#startupTimeout()}); unless given, {@value IsolatedConfiguration#STARTUP_TIMEOUT}
     *     or 60 s; one too long to expire (up to {@code ChronoUnit.FOREVER.getDuration()}) waits as long as it takes
     * @return this builder
     * @throws IllegalArgumentException when it is zero or negative
     */
    public IsolatedEnvironmentBuilder startupTimeout(Duration timeout) {
        this.startupTimeout = positive("startupTimeout", timeout);
        return this;
    }

    private static Duration positive(String method, Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException(method + "(" + timeout + "): it must be positive");
        }
        return timeout;
    }

    /** A timeout: the one given, else the configured one ({@code key}), else the default. */
    private Duration effective(Duration given, String key, Duration defaultValue) {
        if (given != null) {
            return given;
        }
        Optional<String> text = configuration.apply(key); // no lambda: on every path
        return text.isPresent() ? IsolatedSettings.parseDuration(key, text.get()) : defaultValue;
    }

    /** The configuration when none is given: system properties (a class, not a lambda: a class spun at its first use, on the first test's path). */
    private static final class SystemProperties implements Function<String, Optional<String>> {
        @Override
        public Optional<String> apply(String key) {
            return Optional.ofNullable(System.getProperty(key));
        }
    }

    /** Starts the service {@link #startImageCommand} asked for, if any; closes the environment when it fails. */
    private IsolatedEnvironment withService(Environment env, Duration startup) {
        env.startupTimeout(startup);
        if (serviceArgs == null) {
            return env;
        }
        try {
            if (serviceWait == null) {
                env.startImageCommand(serviceArgs);
            } else {
                env.startImageCommand(serviceWait, serviceArgs);
            }
        } catch (RuntimeException e) {
            try {
                env.close();
            } catch (RuntimeException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        return env;
    }

    /**
     * The environment starts from a frozen state (see {@link FrozenState}): its image is the state's, under the
     * state's read-only layers, with a writable layer of its own. {@link #rootfs(String)} and {@link #image(String)}
     * are then ignored.
     *
     * @param frozen the state, not {@linkplain FrozenState#isStale() stale}
     * @return this builder
     * @throws IllegalStateException when the state is stale or its copy was removed from the host (so does
     *     {@link #start()} when that happened since)
     */
    public IsolatedEnvironmentBuilder from(FrozenState frozen) {
        Objects.requireNonNull(frozen).layerForUse();
        this.frozen = frozen;
        return this;
    }

    IsolatedEnvironmentBuilder classLoader(ClassLoader loader) {
        this.classLoader = loader;
        return this;
    }

    /** Where the per-JVM keys of {@link IsolatedConfiguration} come from: the extension's configuration parameters. */
    IsolatedEnvironmentBuilder configuration(Function<String, Optional<String>> lookup) {
        this.configuration = lookup;
        return this;
    }

    /**
     * @param rootfs the unpacked image
     * @param config its config
     * @return what {@link #start()} asks the helper for with that image
     */
    EnvironmentSpec spec(Path rootfs, ImageConfig config) {
        return spec.build(rootfs, config);
    }

    /** Whether a spare of these settings could stand in for this environment: nothing beyond its CREATE. */
    private boolean spareable(FrozenLayer from, EnvironmentSpec spec, LayerSpec layers) {
        return from == null
                && networkObject == null
                && networkAliases.isEmpty()
                && serviceArgs == null
                && !layers.onDisk()
                && spec.mounts().isEmpty()
                && spec.options().network().isEmpty()
                && spec.options().seccompFilter().isEmpty();
    }

    /**
     * A spare renamed to the test's hostname; {@code null} (the spare closed) when there is none or it cannot be
     * renamed, so that the caller makes an environment itself and reports its failure, if any, as usual.
     */
    private static Environment adopted(Environment spare, EnvironmentSpec spec) {
        if (spare == null) {
            return null;
        }
        try {
            spare.adopt(spec);
            return spare;
        } catch (RuntimeException e) {
            try {
                spare.close();
            } catch (RuntimeException closing) {
                e.addSuppressed(closing);
                throw e;
            }
            return null;
        }
    }

    /**
     * The image of {@link #rootfs(String)} or {@link #image(String)}, unpacked; a setting the image code refuses is
     * an {@link IsolatedException}, as the extension's other configuration errors are.
     */
    private UnpackedImage unpackedImage() {
        try {
            return this.image.isEmpty()
                    ? RootfsImages.image(rootfs, classLoader, configuration)
                    : RootfsImages.pulled(this.image, configuration);
        } catch (ImageSettingsException e) {
            throw new IsolatedException(e.getMessage(), e);
        }
    }

    /**
     * Creates the environment and waits until it is ready.
     *
     * @return the environment; close it
     * @throws IllegalStateException when neither {@link #rootfs(String)} nor {@link #image(String)} was given, or
     *     both were, and no {@link #from(FrozenState)} state (the message says which and what each names); thrown
     *     before any image is read or anything is made. Also when the {@link #network(IsolatedNetwork, String...)}
     *     is closed ({@code The network NAME is closed: ...}), or a member of a private network has a read-only
     *     rootfs, whose {@code /etc/hosts} cannot name the members (nothing is left behind)
     * @throws IllegalArgumentException when a setting needs a namespace that is not among
     *     {@link #namespaces(LinuxNamespace...)}: a {@link #hostname(String)} without {@link LinuxNamespace#UTS};
     *     binds or tmpfs mounts without {@link LinuxNamespace#MOUNT}; a private network without
     *     {@link LinuxNamespace#NET}. The message names the setting and the namespace to add; it is thrown before
     *     the image is read or anything is made. Also when {@value IsolatedConfiguration#LAYER_STORAGE} or
     *     {@value IsolatedConfiguration#LAYER_TMPFS_SIZE} is set to a value that is not valid (the message names
     *     the key)
     * @throws org.junit.jupiter.api.extension.ExtensionConfigurationException when
     *     {@value IsolatedConfiguration#EXEC_TIMEOUT}, {@value IsolatedConfiguration#AWAIT_TIMEOUT} or
     *     {@value IsolatedConfiguration#STARTUP_TIMEOUT} is not a positive whole number with a unit
     *     ({@code Cannot read isolated.exec.timeout=0s: a timeout must be positive, e.g. 500ms, 30s or 2m}), as
     *     the same setting fails an {@code @Isolated} test
     * @throws ServiceNotReadyException when the {@link #startImageCommand(Wait, String...)} service is not ready; the
     *     environment is closed first
     * @throws EnvironmentSetupException with the failing stage when the helper cannot set it up
     * @throws dev.isolated.image.ImageException naming the image when it is not found, or cannot be read, unpacked
     *     or pulled
     * @throws IsolatedException when a setting of the image cache or of pulls is not valid, or names a directory of
     *     another user; or {@code Interrupted while the isolated helper created the environment; it was closed} when
     *     the thread is interrupted while it waits for the helper (what the helper began is closed, nothing is left
     *     to the JVM's exit, and the thread's interrupt status is kept); or {@code The image's WorkingDir DIR is not in
     *     its rootfs and could not be made in the environment (it was closed): ...} when the image lacks its
     *     {@code WorkingDir} and making it fails (see {@link IsolatedEnvironment#imageConfig()})
     */
    public IsolatedEnvironment start() {
        return start(null);
    }

    /**
     * {@link #start()}, taking a spare of the same settings when {@code spares} holds one, and having the next
     * one made in the background (only for an environment on no network, with no service, no mounts, no seccomp
     * file of its own, no frozen state and its writable layer on a tmpfs: what a CREATE alone makes).
     *
     * @param spares the spare environment of the test's class; {@code null} for none
     */
    IsolatedEnvironment start(SpareEnvironment spares) {
        FrozenLayer from = frozen == null ? null : frozen.layerForUse();
        if (from == null && !rootfs.isEmpty() && !image.isEmpty()) {
            throw new IllegalStateException(
                    "Both rootfs(\"" + rootfs + "\") and image(\"" + image + "\") are set; give one: "
                            + "rootfs names a file, directory or resource, image names an image in a registry");
        }
        if (from == null && rootfs.isEmpty() && image.isEmpty()) {
            throw new IllegalStateException(
                    "No rootfs: call rootfs(\"busybox.tar\"), rootfs(path) or image(\"name:tag\") " + "before start()");
        }
        this.spec.check();
        Duration startup = effective(
                startupTimeout, IsolatedConfiguration.STARTUP_TIMEOUT, IsolatedSettings.DEFAULT_STARTUP_TIMEOUT);
        this.spec.execTimeout( // what execTimeout(...) gave it, else the configured one
                effective(execTimeout, IsolatedConfiguration.EXEC_TIMEOUT, EnvironmentSpec.DEFAULT_EXEC_TIMEOUT));
        this.spec.awaitTimeout(
                effective(awaitTimeout, IsolatedConfiguration.AWAIT_TIMEOUT, EnvironmentSpec.DEFAULT_AWAIT_TIMEOUT));
        UnpackedImage image = from != null ? new UnpackedImage(from.rootfs(), from.image()) : unpackedImage();
        EnvironmentSpec spec = spec(image.rootfs(), image.config());
        if (networkObject != null) {
            networkObject.checkOpen();
        }
        try {
            HelperConnection helper = SharedHelper.get(configuration);
            LayerSpec layers = LayerSettings.resolve(layerStorage, tmpfsSize, from, configuration);
            if (spares == null || !spareable(from, spec, layers)) {
                return withService(joined(Environment.create(helper, spec, networkAliases, layers)), startup);
            }
            SpareEnvironment.Key key = SpareEnvironment.Key.of(helper, spec, layers);
            Environment env = adopted(spares.take(key), spec);
            if (env == null) {
                env = Environment.create(helper, spec, networkAliases, layers);
            }
            if (spares.prepareNext(key, new SpareEnvironment.Creation(helper, spec, layers))) {
                spares.served(env);
            }
            return withService(joined(env), startup);
        } catch (EnvironmentSetupException e) {
            throw HostFindings.explain(e);
        }
    }
}
