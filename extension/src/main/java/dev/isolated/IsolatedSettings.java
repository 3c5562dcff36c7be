package dev.isolated;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The resolved settings of one test's environment: the annotations of the method and its class, then
 * configuration parameters ({@code junit-platform.properties} or system properties), then defaults.
 */
final class IsolatedSettings {
    /** Configuration parameter: how long {@code exec} waits before stopping a command, e.g. {@code 30s}, {@code 2m}. */
    static final String EXEC_TIMEOUT_PROPERTY = "isolated.exec.timeout";
    static final Duration DEFAULT_EXEC_TIMEOUT = Duration.ofSeconds(60);

    private final String rootfs;
    private final Set<Namespace> namespaces;
    private final String hostname;
    private final Duration execTimeout;
    private final ClassLoader classLoader;

    private IsolatedSettings(String rootfs, Set<Namespace> namespaces, String hostname, Duration execTimeout,
            ClassLoader classLoader) {
        this.rootfs = rootfs;
        this.namespaces = namespaces;
        this.hostname = hostname;
        this.execTimeout = execTimeout;
        this.classLoader = classLoader;
    }

    static Optional<IsolatedSettings> of(ExtensionContext context) {
        Optional<Isolated> effective = IsolatedExtension.findAnnotation(context);
        if (effective.isEmpty()) {
            return Optional.empty();
        }
        Isolated isolated = effective.get();
        Optional<Isolated> onClass = IsolatedExtension.classAnnotation(context);
        String rootfs = firstNonEmpty(isolated.rootfs(), onClass.map(Isolated::rootfs).orElse(""),
                context.getConfigurationParameter(Isolated.DEFAULT_ROOTFS_PROPERTY).orElse(""));
        if (rootfs.isEmpty()) {
            throw new ExtensionConfigurationException("@Isolated on " + context.getDisplayName()
                    + " names no rootfs: write @Isolated(rootfs = \"busybox.tar\") (the isolated-images artifact "
                    + "has busybox.tar and hello.tar), or set the configuration parameter "
                    + Isolated.DEFAULT_ROOTFS_PROPERTY + " in junit-platform.properties");
        }
        Set<Namespace> requested = isolated.namespaces().length == 0 ? EnumSet.noneOf(Namespace.class)
                : EnumSet.copyOf(Arrays.asList(isolated.namespaces()));
        Set<Namespace> namespaces = IsolatedExtension.withUserWhenRootless(requested, isRoot());
        String hostname = firstNonEmpty(isolated.hostname(), onClass.map(Isolated::hostname).orElse(""));
        if (hostname.isEmpty() && namespaces.contains(Namespace.UTS)) {
            hostname = deriveHostname(context.getTestMethod().map(m -> m.getName()).orElse(context.getDisplayName()));
        }
        Duration timeout = context.getConfigurationParameter(EXEC_TIMEOUT_PROPERTY)
                .map(IsolatedSettings::parseDuration).orElse(DEFAULT_EXEC_TIMEOUT);
        ClassLoader loader = context.getTestClass().map(Class::getClassLoader)
                .orElse(Thread.currentThread().getContextClassLoader());
        return Optional.of(new IsolatedSettings(rootfs, namespaces, hostname, timeout, loader));
    }

    Path rootfsDirectory() {
        return RootfsImages.unpacked(rootfs, classLoader);
    }

    Set<Namespace> namespaces() {
        return namespaces;
    }

    String hostname() {
        return hostname;
    }

    Duration execTimeout() {
        return execTimeout;
    }

    /** A hostname from a test name: lower case letters, digits and dashes, at most 63 characters. */
    static String deriveHostname(String testName) {
        String name = testName.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
        if (name.length() > 63) {
            name = name.substring(0, 63).replaceAll("-+$", "");
        }
        return name.isEmpty() ? "isolated" : name;
    }

    static Duration parseDuration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2).trim()));
            }
            if (t.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1).trim()));
            }
            if (t.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1).trim()));
            }
            return Duration.ofSeconds(Long.parseLong(t));
        } catch (NumberFormatException e) {
            throw new ExtensionConfigurationException("Cannot read " + EXEC_TIMEOUT_PROPERTY + "=" + text
                    + ": write a number with a unit, e.g. 500ms, 30s or 2m", e);
        }
    }

    static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("Uid:")) {
                    return line.substring(4).trim().split("\\s+")[1].equals("0");
                }
            }
        } catch (IOException e) {
            throw new IsolatedException("Cannot read /proc/self/status to tell whether the tests run as root: " + e, e);
        }
        return false;
    }

    private static String firstNonEmpty(String... values) {
        for (String v : values) {
            if (v != null && !v.isEmpty()) {
                return v;
            }
        }
        return "";
    }
}
