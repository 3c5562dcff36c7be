package dev.isolated;

import dev.isolated.internal.env.EnvironmentSpec;
import dev.isolated.internal.env.Timeouts;
import java.lang.reflect.AnnotatedElement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Turns annotations and configuration into an {@link IsolatedEnvironmentBuilder}: the {@code @Isolated}
 * annotations that apply, combined attribute by attribute ({@link #merge}), then configuration parameters
 * ({@link IsolatedConfiguration}), then defaults.
 */
final class IsolatedSettings {
    static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(60);
    /** As {@link Isolated#namespaces()}, in its order: a list of annotations equal to it left them at the default. */
    private static final List<LinuxNamespace> DEFAULT_NAMESPACES = EnvironmentSpec.DEFAULT_NAMESPACES;

    private IsolatedSettings() {}

    /**
     * What a list of {@code @Isolated} annotations say together: for each attribute, the value of the innermost
     * annotation that does not leave it at its default ({@code null} for namespaces all leave at the default).
     * {@code rootfs} and {@code image} are one attribute: the innermost annotation that gives either decides.
     */
    record Merged(
            String rootfs,
            String image,
            LinuxNamespace[] namespaces,
            String hostname,
            boolean readOnlyRootfs,
            Capabilities capabilities,
            UserMapping userMapping,
            Seccomp seccomp,
            boolean skipIfUnsupported,
            CommandDefaults commandDefaults,
            int[] exposeHostPorts) {}

    /**
     * @param innermostFirst the annotations that apply, the most specific first (parameter, method, class,
     *     enclosing classes)
     * @return the attributes they give together
     */
    static Merged merge(List<Isolated> innermostFirst) {
        String rootfs = "";
        String image = "";
        LinuxNamespace[] namespaces = null;
        String hostname = "";
        boolean readOnly = false;
        Capabilities capabilities = Capabilities.DOCKER_DEFAULT;
        UserMapping userMapping = UserMapping.ROOT;
        Seccomp seccomp = Seccomp.DEFAULT;
        boolean skip = false;
        int[] hostPorts = {};
        for (Isolated a : innermostFirst) {
            if (!a.rootfs().isEmpty() && !a.image().isEmpty()) {
                throw new ExtensionConfigurationException("@Isolated(rootfs = \"" + a.rootfs() + "\", image = \""
                        + a.image() + "\") gives both rootfs and image; give one: rootfs names a file, directory or "
                        + "resource, image names an image in a registry");
            }
            if (rootfs.isEmpty() && image.isEmpty()) {
                rootfs = a.rootfs();
                image = a.image();
            }
            if (namespaces == null && !List.of(a.namespaces()).equals(DEFAULT_NAMESPACES)) {
                namespaces = a.namespaces();
            }
            hostname = hostname.isEmpty() ? a.hostname() : hostname;
            readOnly |= a.readOnlyRootfs();
            capabilities = capabilities == Capabilities.DOCKER_DEFAULT ? a.capabilities() : capabilities;
            userMapping = userMapping == UserMapping.ROOT ? a.userMapping() : userMapping;
            seccomp = seccomp == Seccomp.DEFAULT ? a.seccomp() : seccomp;
            skip |= a.skipIfUnsupported();
            hostPorts = hostPorts.length == 0 ? a.exposeHostPorts() : hostPorts;
        }
        return new Merged(
                rootfs,
                image,
                namespaces,
                hostname,
                readOnly,
                capabilities,
                userMapping,
                seccomp,
                skip,
                CommandDefaults.merge(innermostFirst),
                hostPorts);
    }

    /**
     * @param isolated the annotations that apply, combined
     * @param mountSources the elements whose {@link Bind}, {@link Tmpfs}, {@link Limits} and {@link ClockOffsets}
     *     annotations apply, outermost first
     * @param hostnameSeed the name a hostname is derived from when none is given
     * @param context the extension context, for configuration parameters and the class loader
     * @return a builder for the environment
     */
    static IsolatedEnvironmentBuilder builder(
            Merged isolated, List<AnnotatedElement> mountSources, String hostnameSeed, ExtensionContext context) {
        String rootfs = isolated.image().isEmpty()
                ? firstNonEmpty(
                        isolated.rootfs(),
                        context.getConfigurationParameter(IsolatedConfiguration.ROOTFS)
                                .orElse(""))
                : "";
        if (rootfs.isEmpty()
                && isolated.image().isEmpty()
                && innermostWritableLayer(mountSources)
                        .map(layer -> layer.frozen().isEmpty())
                        .orElse(true)) {
            throw new ExtensionConfigurationException("@Isolated on " + context.getDisplayName()
                    + " names no rootfs: write @Isolated(rootfs = \"busybox.tar\") (the isolated-images artifact "
                    + "has busybox.tar and hello.tar) or @Isolated(image = \"name:tag\") (an image from a registry), "
                    + "or set the configuration parameter " + IsolatedConfiguration.ROOTFS
                    + " in junit-platform.properties");
        }
        LinuxNamespace[] namespaces = namespaces(isolated, context);
        IsolatedEnvironmentBuilder builder = IsolatedEnvironment.builder().rootfs(rootfs);
        try {
            builder.image(isolated.image());
        } catch (IllegalArgumentException e) {
            throw new ExtensionConfigurationException(
                    "@Isolated(image = \"" + isolated.image() + "\"): " + e.getMessage(), e);
        }
        builder.namespaces(namespaces)
                .readOnlyRootfs(isolated.readOnlyRootfs())
                .execTimeout(
                        duration(context, IsolatedConfiguration.EXEC_TIMEOUT, EnvironmentSpec.DEFAULT_EXEC_TIMEOUT))
                .awaitTimeout(
                        duration(context, IsolatedConfiguration.AWAIT_TIMEOUT, EnvironmentSpec.DEFAULT_AWAIT_TIMEOUT))
                .classLoader(testClassLoader(context))
                .configuration(new ContextConfiguration(context));
        String hostname = isolated.hostname();
        if (hostname.isEmpty() && List.of(namespaces).contains(LinuxNamespace.UTS)) {
            hostname = deriveHostname(hostnameSeed);
        }
        try {
            builder.hostname(hostname);
        } catch (IllegalArgumentException e) {
            throw new ExtensionConfigurationException("@Isolated(hostname = ...): " + e.getMessage(), e);
        }
        if (!hostname.isEmpty() && !List.of(namespaces).contains(LinuxNamespace.UTS)) {
            throw new ExtensionConfigurationException("@Isolated(hostname = \"" + hostname + "\"): a hostname needs "
                    + "the UTS namespace: add LinuxNamespace.UTS to namespaces, or drop the hostname");
        }
        builder.capabilities(isolated.capabilities()).userMapping(isolated.userMapping());
        builder.seccomp(isolated.seccomp());
        isolated.commandDefaults().applyTo(builder);
        try {
            builder.exposeHostPorts(isolated.exposeHostPorts());
        } catch (IllegalArgumentException e) {
            throw new ExtensionConfigurationException("@Isolated(exposeHostPorts = ...): " + e.getMessage(), e);
        }
        applyLimits(builder, mountSources);
        ServiceAnnotation.apply(builder, mountSources);
        applyWritableLayer(builder, mountSources);
        for (AnnotatedElement element : mountSources) {
            for (Bind bind : AnnotationSupport.findRepeatableAnnotations(element, Bind.class)) {
                builder.addBind(checkedSource(bind), bind.target(), bind.readOnly());
            }
            for (Tmpfs tmpfs : AnnotationSupport.findRepeatableAnnotations(element, Tmpfs.class)) {
                if (tmpfs.sizeBytes() < 0) { // as a negative @Limits: named, before anything is made
                    throw new ExtensionConfigurationException("@Tmpfs(target = \"" + tmpfs.target() + "\", sizeBytes = "
                            + tmpfs.sizeBytes() + "): a size is 0 (the kernel's default) or more");
                }
                builder.tmpfs(tmpfs.target(), tmpfs.sizeBytes());
            }
        }
        return builder;
    }

    /**
     * The test class's loader, else the thread's. Not {@code map(Class::getClassLoader)}: a method reference to a
     * caller-sensitive method makes the JDK spin a hidden invoker class and its method handles, tens of milliseconds
     * of a fresh JVM's first test.
     */
    private static ClassLoader testClassLoader(ExtensionContext context) {
        Optional<Class<?>> testClass = context.getTestClass();
        ClassLoader loader = testClass.isPresent() ? testClass.get().getClassLoader() : null;
        return loader != null ? loader : Thread.currentThread().getContextClassLoader();
    }

    /** The annotations' namespaces, or {@code isolated.namespaces} when all of them keep the default. */
    private static LinuxNamespace[] namespaces(Merged isolated, ExtensionContext context) {
        if (isolated.namespaces() != null) {
            return isolated.namespaces();
        }
        Optional<String> configured = context.getConfigurationParameter(IsolatedConfiguration.NAMESPACES);
        if (configured.isEmpty()) {
            return DEFAULT_NAMESPACES.toArray(
                    new LinuxNamespace
                            [0]); // not LinuxNamespace[]::new: a class spun at its first use, on the first test's path
        }
        try {
            return java.util.Arrays.stream(configured.get().split(","))
                    .map(String::trim)
                    .filter(s -> !s.isEmpty())
                    .map(LinuxNamespace::parse)
                    .toArray(LinuxNamespace[]::new);
        } catch (IllegalArgumentException e) {
            throw new ExtensionConfigurationException(
                    IsolatedConfiguration.NAMESPACES + "=" + configured.get() + ": " + e.getMessage(), e);
        }
    }

    /** The innermost {@link Limits} and {@link ClockOffsets} apply (a method's replace its class's). */
    private static void applyLimits(IsolatedEnvironmentBuilder builder, List<AnnotatedElement> sources) {
        Limits limits = null;
        ClockOffsets clocks = null;
        for (AnnotatedElement element : sources) {
            limits = SingleAnnotations.find(element, Limits.class).orElse(limits);
            clocks = SingleAnnotations.find(element, ClockOffsets.class).orElse(clocks);
        }
        if (limits != null) {
            requireNotNegative(limits);
            boolean onlyRlimits = limits.memoryBytes() == 0
                    && limits.pids() == 0
                    && limits.cpuPercent() == 0
                    && (limits.openFiles() > 0 || limits.fileSizeBytes() > 0 || limits.cpuSeconds() > 0);
            builder.memoryBytes(limits.memoryBytes())
                    .pids(limits.pids())
                    .cpuPercent(limits.cpuPercent())
                    .trackResources(!onlyRlimits); // rlimits need no cgroup, so no cgroup delegation either
            if (limits.openFiles() > 0) {
                builder.openFiles(limits.openFiles());
            }
            if (limits.fileSizeBytes() > 0) {
                builder.fileSizeBytes(limits.fileSizeBytes());
            }
            if (limits.cpuSeconds() > 0) {
                builder.cpuSeconds(limits.cpuSeconds());
            }
        }
        if (clocks != null) {
            builder.clockOffsets(clocks.monotonicSeconds(), clocks.boottimeSeconds());
        }
    }

    /** A negative limit would limit nothing, silently: it fails the test naming it. */
    private static void requireNotNegative(Limits limits) {
        java.util.Map<String, Long> values = new java.util.LinkedHashMap<>();
        values.put("memoryBytes", limits.memoryBytes());
        values.put("pids", (long) limits.pids());
        values.put("cpuPercent", (long) limits.cpuPercent());
        values.put("openFiles", (long) limits.openFiles());
        values.put("fileSizeBytes", limits.fileSizeBytes());
        values.put("cpuSeconds", (long) limits.cpuSeconds());
        values.forEach((name, value) -> {
            if (value < 0) {
                throw new ExtensionConfigurationException(
                        "@Limits(" + name + " = " + value + "): a limit is 0 (none) or more");
            }
        });
    }

    /** The innermost {@link WritableLayer} applies (a method's replaces its class's). */
    private static void applyWritableLayer(IsolatedEnvironmentBuilder builder, List<AnnotatedElement> sources) {
        WritableLayer layer = innermostWritableLayer(sources).orElse(null);
        if (layer == null) {
            return;
        }
        try {
            builder.writableLayer(layer.storage()).tmpfsSize(layer.tmpfsSize());
        } catch (IllegalArgumentException e) {
            throw new ExtensionConfigurationException("@WritableLayer(tmpfsSize = ...): " + e.getMessage(), e);
        }
        if (!layer.frozen().isEmpty()) {
            String name = layer.frozen();
            Optional<FrozenState> state = FrozenState.named(name);
            if (state.isEmpty()) {
                initialize(sources);
                state = FrozenState.named(name);
            }
            builder.from(state.orElseThrow(() -> new ExtensionConfigurationException("@WritableLayer(frozen = \"" + name
                    + "\"): no frozen state of that name in this JVM yet; make it "
                    + "with FrozenState.cached(\"" + name
                    + "\", key, setup) before the test runs (in a static field "
                    + "or a @BeforeAll method)")));
        }
    }

    /**
     * Runs the static initializers of the test classes among {@code sources} (and so their superclasses'), which
     * JUnit has not run yet when a {@code PER_CLASS} environment is made: a {@link FrozenState} made in a static
     * field is then there. A failing initializer fails the class, as it would at the class's first use.
     */
    private static void initialize(List<AnnotatedElement> sources) {
        for (AnnotatedElement element : sources) {
            if (element instanceof Class<?> type) {
                try {
                    Class.forName(type.getName(), true, type.getClassLoader());
                } catch (ClassNotFoundException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    private static Optional<WritableLayer> innermostWritableLayer(List<AnnotatedElement> sources) {
        WritableLayer layer = null;
        for (AnnotatedElement element : sources) {
            layer = SingleAnnotations.find(element, WritableLayer.class).orElse(layer);
        }
        return Optional.ofNullable(layer);
    }

    private static Path checkedSource(Bind bind) {
        Path source = Paths.get(bind.source()).toAbsolutePath();
        if (!Files.exists(source)) {
            throw new ExtensionConfigurationException("@Bind(source = \"" + bind.source() + "\", target = \""
                    + bind.target() + "\"): " + source + " does not exist; create it or fix the path (a relative "
                    + "source is relative to the working directory "
                    + Paths.get("").toAbsolutePath() + ")");
        }
        return source;
    }

    /**
     * A hostname from a test name: lower case letters, digits and dashes, at most 63 characters. Each run of other
     * characters becomes one dash, none at either end (a loop, not regular expressions: it runs for every test).
     */
    static String deriveHostname(String testName) {
        String lower = testName.toLowerCase(Locale.ROOT);
        StringBuilder name = new StringBuilder(Math.min(lower.length(), 64));
        boolean gap = false;
        for (int i = 0; i < lower.length() && name.length() < 63; i++) {
            char c = lower.charAt(i);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                if (gap && name.length() > 0) {
                    name.append('-');
                }
                gap = false;
                name.append(c);
            } else {
                gap = true;
            }
        }
        int end = Math.min(name.length(), 63);
        while (end > 0 && name.charAt(end - 1) == '-') {
            end--;
        }
        return end == 0 ? "isolated" : name.substring(0, end);
    }

    private static Duration duration(ExtensionContext context, String key, Duration defaultValue) {
        Optional<String> text = context.getConfigurationParameter(
                key); // no lambda: a class spun at its first use, on the first test's path
        return text.isPresent() ? parseDuration(key, text.get()) : defaultValue;
    }

    /** The test's configuration parameters; a class, not {@code context::getConfigurationParameter} (a class spun at its first use, on the first test's path). */
    private static final class ContextConfiguration implements java.util.function.Function<String, Optional<String>> {
        private final ExtensionContext context;

        ContextConfiguration(ExtensionContext context) {
            this.context = context;
        }

        @Override
        public Optional<String> apply(String key) {
            return context.getConfigurationParameter(key);
        }
    }

    static Duration parseDuration(String key, String text) {
        Duration d = readDuration(key, text);
        if (d.isNegative() || d.isZero()) {
            throw new ExtensionConfigurationException(
                    "Cannot read " + key + "=" + text + ": a timeout must be positive, e.g. 500ms, 30s or 2m");
        }
        return d;
    }

    private static Duration readDuration(String key, String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("ms")) {
                return Duration.ofMillis(
                        Long.parseLong(t.substring(0, t.length() - 2).trim()));
            }
            if (t.endsWith("s")) {
                return Duration.ofSeconds(
                        Long.parseLong(t.substring(0, t.length() - 1).trim()));
            }
            if (t.endsWith("m")) {
                return Duration.ofMinutes(
                        Long.parseLong(t.substring(0, t.length() - 1).trim()));
            }
            throw new NumberFormatException("no unit"); // 30 could be seconds or milliseconds: say which
        } catch (NumberFormatException e) {
            throw new ExtensionConfigurationException(
                    "Cannot read " + key + "=" + text + ": write a number with a unit, e.g. 500ms, 30s or 2m", e);
        } catch (ArithmeticException longerThanADurationHolds) {
            return Timeouts.LONGEST; // waits as long as any timeout does (Timeouts)
        }
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
