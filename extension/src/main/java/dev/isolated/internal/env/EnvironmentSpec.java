package dev.isolated.internal.env;

import dev.isolated.LinuxNamespace;
import dev.isolated.image.ImageConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What an environment is made of, fully resolved.
 *
 * @param rootfs the unpacked image, used read-only as the lower layer of the environment's root
 * @param namespaces the namespaces to create
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
 */
public record EnvironmentSpec(Path rootfs, Set<LinuxNamespace> namespaces, String hostname, Duration execTimeout,
        Duration awaitTimeout, Map<String, String> env, String workingDirectory, List<ExtraMount> mounts,
        boolean readOnlyRootfs, EnvironmentOptions options, ImageConfig image, String user) {

    /** The variables every command gets unless the image or the command says otherwise. */
    public static final Map<String, String> DEFAULT_ENV = Map.of(
            "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME", "/");

    /** Validates and copies. */
    public EnvironmentSpec {
        namespaces = namespaces.isEmpty() ? EnumSet.noneOf(LinuxNamespace.class) : EnumSet.copyOf(namespaces);
        if (!hostname.isEmpty() && !namespaces.contains(LinuxNamespace.UTS)) {
            throw new IllegalArgumentException("hostname \"" + hostname + "\" needs the UTS namespace: add LinuxNamespace.UTS "
                    + "to namespaces, or drop the hostname");
        }
        if (!mounts.isEmpty() && !namespaces.contains(LinuxNamespace.MOUNT)) {
            throw new IllegalArgumentException("binds and tmpfs mounts need the MOUNT namespace: add LinuxNamespace.MOUNT");
        }
        if (options.needsTimeNamespace() && !namespaces.contains(LinuxNamespace.TIME)) {
            namespaces.add(LinuxNamespace.TIME);
        }
        if (!options.network().isEmpty() && !namespaces.contains(LinuxNamespace.NET)) {
            throw new IllegalArgumentException("a private network needs the NET namespace: add LinuxNamespace.NET");
        }
        env = new LinkedHashMap<>(env);
        mounts = List.copyOf(mounts);
    }

    /**
     * A spec with the defaults for everything but the rootfs, namespaces and hostname.
     *
     * @param rootfs the unpacked image
     * @param namespaces the namespaces
     * @param hostname the hostname, or empty
     * @param execTimeout the default exec timeout
     * @return the spec
     */
    public static EnvironmentSpec of(Path rootfs, Set<LinuxNamespace> namespaces, String hostname, Duration execTimeout) {
        return new EnvironmentSpec(rootfs, namespaces, hostname, execTimeout, Duration.ofSeconds(30), DEFAULT_ENV, "/",
                List.of(), false, EnvironmentOptions.DEFAULTS, ImageConfig.EMPTY, "");
    }

    /**
     * @param newOptions the limits, capabilities... to use instead
     * @return a copy with these options
     */
    public EnvironmentSpec withOptions(EnvironmentOptions newOptions) {
        return new EnvironmentSpec(rootfs, namespaces, hostname, execTimeout, awaitTimeout, env, workingDirectory, mounts,
                readOnlyRootfs, newOptions, image, user);
    }

    String namespaceList() {
        return namespaceList(namespaces);
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
}
