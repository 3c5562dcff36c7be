package dev.isolated.internal.env;

import dev.isolated.Capabilities;
import dev.isolated.LinuxNamespace;
import dev.isolated.Seccomp;
import dev.isolated.UserMapping;
import dev.isolated.image.ImageConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What an environment is made of, fully resolved and immutable; made by name with {@link #builder()}, which
 * holds the defaults, and checked here, where the rules between settings live. Both {@code @Isolated} (through
 * its builder) and {@code IsolatedEnvironment.builder()} end here; {@link CreateRequest} writes it for the helper.
 *
 * @param rootfs the unpacked image, used read-only as the lower layer of the environment's root
 * @param namespaces the namespaces asked for ({@link LinuxNamespace#TIME} added for clock offsets); the helper adds
 *     {@link LinuxNamespace#USER} to every environment, asked for or not, and says so in its reply
 * @param hostname the hostname, empty for none (needs UTS)
 * @param execTimeout how long {@code exec} waits before stopping a command
 * @param awaitTimeout how long the {@code await...} methods wait by default
 * @param env the environment variables every command gets before its own (PATH, HOME, the image's Env)
 * @param workingDirectory the working directory of commands that do not name one
 * @param mounts the binds and tmpfs mounts to add
 * @param readOnlyRootfs whether the root filesystem is read-only
 * @param options limits, clock offsets, capabilities, network
 * @param image the image's run defaults ({@code User}, {@code Entrypoint}, {@code Cmd}; {@code Env} and
 *     {@code WorkingDir} are already in {@code env} and {@code workingDirectory})
 * @param user the user of commands that name none ({@code name}, {@code uid}, {@code name:group}...), looked up
 *     in the environment's {@code /etc/passwd} at the first command; empty for the image's {@code User}
 * @param workingDirectoryFromImage whether {@code workingDirectory} is the image's {@code WorkingDir}, which the
 *     environment makes when its rootfs lacks it ({@link ImageWorkingDirectory}), as Docker and podman do
 */
public record EnvironmentSpec(
        Path rootfs,
        Set<LinuxNamespace> namespaces,
        String hostname,
        Duration execTimeout,
        Duration awaitTimeout,
        Map<String, String> env,
        String workingDirectory,
        List<ExtraMount> mounts,
        boolean readOnlyRootfs,
        EnvironmentOptions options,
        ImageConfig image,
        String user,
        boolean workingDirectoryFromImage) {

    /** The variables every command gets unless the image or the command says otherwise. */
    public static final Map<String, String> DEFAULT_ENV =
            Map.of("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME", "/");
    /** The namespaces unless others are given, in the order of {@code Isolated.namespaces()}. */
    public static final List<LinuxNamespace> DEFAULT_NAMESPACES = List.of(
            LinuxNamespace.PID,
            LinuxNamespace.MOUNT,
            LinuxNamespace.UTS,
            LinuxNamespace.IPC,
            LinuxNamespace.NET,
            LinuxNamespace.CGROUP);
    /** How long {@code exec} waits unless told otherwise. */
    public static final Duration DEFAULT_EXEC_TIMEOUT = Duration.ofSeconds(60);
    /** How long the {@code await...} methods wait unless told otherwise. */
    public static final Duration DEFAULT_AWAIT_TIMEOUT = Duration.ofSeconds(30);

    /** Applies the rules between settings and copies, unmodifiable. */
    public EnvironmentSpec {
        Set<LinuxNamespace> ns =
                namespaces.isEmpty() ? EnumSet.noneOf(LinuxNamespace.class) : EnumSet.copyOf(namespaces);
        checkNamespaces(ns, hostname, !mounts.isEmpty(), !options.network().isEmpty());
        if (options.needsTimeNamespace()) {
            ns.add(LinuxNamespace.TIME);
        }
        namespaces = Collections.unmodifiableSet(ns);
        env = Collections.unmodifiableMap(new LinkedHashMap<>(env));
        mounts = List.copyOf(mounts);
    }

    /** Refuses a setting that needs a namespace which is not asked for. */
    private static void checkNamespaces(
            Set<LinuxNamespace> ns, String hostname, boolean hasMounts, boolean hasNetwork) {
        if (!hostname.isEmpty() && !ns.contains(LinuxNamespace.UTS)) {
            throw new IllegalArgumentException("hostname \"" + hostname
                    + "\" needs the UTS namespace: add LinuxNamespace.UTS " + "to namespaces, or drop the hostname");
        }
        if (hasMounts && !ns.contains(LinuxNamespace.MOUNT)) {
            throw new IllegalArgumentException(
                    "binds and tmpfs mounts need the MOUNT namespace: add LinuxNamespace.MOUNT to namespaces, or drop "
                            + "the mounts");
        }
        if (hasNetwork && !ns.contains(LinuxNamespace.NET)) {
            throw new IllegalArgumentException("a private network needs the NET namespace: add LinuxNamespace.NET to "
                    + "namespaces, or drop the network");
        }
    }

    /**
     * @param name the hostname, empty for none
     * @return these settings with that hostname
     */
    public EnvironmentSpec withHostname(String name) {
        return name.equals(hostname)
                ? this
                : new EnvironmentSpec(
                        rootfs,
                        namespaces,
                        name,
                        execTimeout,
                        awaitTimeout,
                        env,
                        workingDirectory,
                        mounts,
                        readOnlyRootfs,
                        options,
                        image,
                        user,
                        workingDirectoryFromImage);
    }

    /** @return a builder with the defaults: those of {@code @Isolated} */
    public static Builder builder() {
        return new Builder();
    }

    static String namespaceList(Set<LinuxNamespace> namespaces) {
        StringBuilder sb = new StringBuilder();
        for (LinuxNamespace ns : namespaces) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(ns.shortName());
        }
        return sb.toString();
    }

    /**
     * An environment's settings by name, before its image is known; the one place that holds their defaults.
     * Not thread-safe; {@link #build} may be called more than once.
     */
    public static final class Builder {
        private Set<LinuxNamespace> namespaces = EnumSet.copyOf(DEFAULT_NAMESPACES);
        private String hostname = "";
        private final List<ExtraMount> mounts = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private String workingDirectory; // null: the image's WorkingDir, else /
        private String user = "";
        private boolean readOnlyRootfs;
        private Duration execTimeout = DEFAULT_EXEC_TIMEOUT;
        private Duration awaitTimeout = DEFAULT_AWAIT_TIMEOUT;
        private long memoryBytes;
        private int pids;
        private int cpuPercent;
        private final Map<String, Long> rlimits = new LinkedHashMap<>();
        private long monotonicOffsetSeconds;
        private long boottimeOffsetSeconds;
        private Capabilities capabilities = Capabilities.DOCKER_DEFAULT;
        private boolean trackResources;
        private String network = "";
        private String seccompFilter = "";
        private UserMapping userMapping = UserMapping.ROOT;
        private Seccomp seccomp = Seccomp.DEFAULT;

        private Builder() {}

        /** Sets the namespaces to create (returns this builder). */
        public Builder namespaces(Set<LinuxNamespace> value) {
            namespaces = value.isEmpty() ? EnumSet.noneOf(LinuxNamespace.class) : EnumSet.copyOf(value);
            return this;
        }

        /** Sets the hostname, empty for none (returns this builder). */
        public Builder hostname(String value) {
            hostname = Objects.requireNonNull(value);
            return this;
        }

        /** Adds a bind or tmpfs mount after those added before (returns this builder). */
        public Builder mount(ExtraMount mount) {
            mounts.add(Objects.requireNonNull(mount));
            return this;
        }

        /** Sets a variable, replacing an earlier value (returns this builder). */
        public Builder env(String name, String value) {
            env.put(name, Objects.requireNonNull(value));
            return this;
        }

        /** Sets the working directory of commands that name none (returns this builder). */
        public Builder workingDirectory(String value) {
            workingDirectory = Objects.requireNonNull(value);
            return this;
        }

        /** Sets the user of commands that name none, empty for the image's (returns this builder). */
        public Builder user(String value) {
            user = Objects.requireNonNull(value);
            return this;
        }

        /** Sets whether the rootfs is read-only (returns this builder). */
        public Builder readOnlyRootfs(boolean value) {
            readOnlyRootfs = value;
            return this;
        }

        /** Sets how long {@code exec} waits (returns this builder). */
        public Builder execTimeout(Duration value) {
            execTimeout = Objects.requireNonNull(value);
            return this;
        }

        /** Sets how long the {@code await...} methods wait (returns this builder). */
        public Builder awaitTimeout(Duration value) {
            awaitTimeout = Objects.requireNonNull(value);
            return this;
        }

        /** Sets the cgroup memory limit in bytes, 0 for none (returns this builder). */
        public Builder memoryBytes(long value) {
            memoryBytes = value;
            return this;
        }

        /** Sets the cgroup pids limit, 0 for none (returns this builder). */
        public Builder pids(int value) {
            pids = value;
            return this;
        }

        /** Sets the cgroup CPU limit in percent of one CPU, 0 for none (returns this builder). */
        public Builder cpuPercent(int value) {
            cpuPercent = value;
            return this;
        }

        /**
         * @param helperName an rlimit as the helper names it ({@code nofile}, {@code fsize}, ...)
         * @param value its soft and hard limit, replacing an earlier one
         * @return this builder
         */
        public Builder rlimit(String helperName, long value) {
            rlimits.put(Objects.requireNonNull(helperName), value);
            return this;
        }

        /** Drops an rlimit set before, by the helper's name (returns this builder). */
        public Builder clearRlimit(String helperName) {
            rlimits.remove(helperName);
            return this;
        }

        /** Sets the seconds added to CLOCK_MONOTONIC and CLOCK_BOOTTIME (returns this builder). */
        public Builder clockOffsets(long monotonic, long boottime) {
            monotonicOffsetSeconds = monotonic;
            boottimeOffsetSeconds = boottime;
            return this;
        }

        /** Sets what the environment's root keeps (returns this builder). */
        public Builder capabilities(Capabilities value) {
            capabilities = Objects.requireNonNull(value);
            return this;
        }

        /** Sets whether a cgroup is made to count even without limits (returns this builder). */
        public Builder trackResources(boolean value) {
            trackResources = value;
            return this;
        }

        /** Sets the private network to join, empty for none (returns this builder). */
        public Builder network(String value) {
            network = Objects.requireNonNull(value);
            return this;
        }

        /** Sets a compiled cBPF filter file, empty for none (returns this builder). */
        public Builder seccompFilter(String value) {
            seccompFilter = Objects.requireNonNull(value);
            return this;
        }

        /** Sets who the caller is in the user namespace (returns this builder). */
        public Builder userMapping(UserMapping value) {
            userMapping = Objects.requireNonNull(value);
            return this;
        }

        /** Sets whether the built-in seccomp filter applies (returns this builder). */
        public Builder seccomp(Seccomp value) {
            seccomp = Objects.requireNonNull(value);
            return this;
        }

        /**
         * Applies the rules between settings before the image is known, so that a mistake no host can satisfy is
         * reported before an image is looked at or anything is made.
         *
         * @throws IllegalArgumentException when a setting needs a namespace that is not asked for (as
         *     {@link #build} does)
         */
        public void check() {
            checkNamespaces(namespaces, hostname, !mounts.isEmpty(), !network.isEmpty());
        }

        /**
         * The spec for an image: the environment's variables over the image's {@code Env} over {@link #DEFAULT_ENV},
         * the working directory given, else the image's {@code WorkingDir}, else {@code /}.
         *
         * @param rootfs the unpacked image
         * @param image its config
         * @return the spec
         * @throws IllegalArgumentException when a setting needs a namespace that is not asked for
         */
        public EnvironmentSpec build(Path rootfs, ImageConfig image) {
            Map<String, String> allEnv = new LinkedHashMap<>(DEFAULT_ENV);
            allEnv.putAll(configEnv(image));
            allEnv.putAll(env);
            String cwd = workingDirectory != null
                    ? workingDirectory
                    : image.workingDir().isEmpty() ? "/" : image.workingDir();
            return new EnvironmentSpec(
                    rootfs,
                    namespaces,
                    hostname,
                    execTimeout,
                    awaitTimeout,
                    allEnv,
                    cwd,
                    mounts,
                    readOnlyRootfs,
                    new EnvironmentOptions(
                            memoryBytes,
                            pids,
                            cpuPercent,
                            rlimits,
                            monotonicOffsetSeconds,
                            boottimeOffsetSeconds,
                            capabilities,
                            trackResources,
                            network,
                            seccompFilter,
                            userMapping,
                            seccomp),
                    image,
                    user,
                    workingDirectory == null && !image.workingDir().isEmpty());
        }

        /** The image config's {@code Env} as a map (later entries win). */
        private static Map<String, String> configEnv(ImageConfig config) {
            Map<String, String> vars = new LinkedHashMap<>();
            for (String kv : config.env()) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    vars.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            }
            return vars;
        }
    }
}
