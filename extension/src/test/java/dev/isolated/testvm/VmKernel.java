package dev.isolated.testvm;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The test VM's kernel: a Debian {@code linux-image} package unpacked by {@code .ci/install-deps} into
 * {@code <cache>/<version>/} ({@code boot/vmlinuz-*}, {@code lib/modules/<version>/kernel/**.ko}, uncompressed):
 * the host's architecture's in {@value #DEFAULT_DIR}, arm64's (with {@code bin/busybox}) in
 * {@value #ARM64_DEFAULT_DIR}.
 */
public final class VmKernel {
    /** The system property naming the cache directory (set by extension/pom.xml). */
    public static final String DIR_PROPERTY = "isolated.testvm.dir";
    /** The environment variable that overrides {@link #DIR_PROPERTY}. */
    public static final String DIR_ENV = "ISOLATED_TEST_VM_DIR";

    static final String DEFAULT_DIR = "/var/cache/isolated-test-vm";
    /** The system property naming the arm64 cache directory (set by extension/pom.xml). */
    public static final String ARM64_DIR_PROPERTY = "isolated.testvm.arm64.dir";
    /** The environment variable that overrides {@link #ARM64_DIR_PROPERTY}. */
    public static final String ARM64_DIR_ENV = "ISOLATED_TEST_VM_ARM64_DIR";

    static final String ARM64_DEFAULT_DIR = "/var/cache/isolated-test-vm-arm64";

    private static final Pattern DEPENDS = Pattern.compile("depends=([A-Za-z0-9_,-]*)\0");

    private final Path vmlinuz;
    private final Map<String, Path> modules;

    private VmKernel(Path vmlinuz, Map<String, Path> modules) {
        this.vmlinuz = vmlinuz;
        this.modules = modules;
    }

    /** @return the kernel of the newest version in the cache; fails, naming {@code .ci/install-deps}, without one */
    public static VmKernel find() {
        return find(DIR_PROPERTY, DIR_ENV, DEFAULT_DIR);
    }

    /**
     * @return the newest arm64 kernel in the arm64 cache ({@link #ARM64_DIR_PROPERTY}, {@link #ARM64_DIR_ENV}), whose
     *     version directory also holds {@code bin/busybox} of {@code busybox-static:arm64} ({@link #directory()})
     */
    public static VmKernel arm64() {
        return find(ARM64_DIR_PROPERTY, ARM64_DIR_ENV, ARM64_DEFAULT_DIR);
    }

    private static VmKernel find(String property, String envName, String defaultDir) {
        String env = System.getenv(envName);
        Path cache = Path.of(env != null && !env.isBlank() ? env : System.getProperty(property, defaultDir));
        try (Stream<Path> versions = Files.list(cache)) {
            for (Path version : versions.sorted(Comparator.reverseOrder()).toList()) {
                Path vmlinuz = vmlinuz(version);
                Path modules = version.resolve("lib/modules")
                        .resolve(version.getFileName())
                        .resolve("kernel");
                if (vmlinuz != null && Files.isDirectory(modules)) {
                    return new VmKernel(vmlinuz, index(modules));
                }
            }
        } catch (IOException e) {
            // reported below, like an empty cache
        }
        throw new AssertionError("No test VM kernel in " + cache + " (boot/vmlinuz-* and lib/modules/): run "
                + ".ci/install-deps as root, or point -D" + property + " / " + envName + " at such a cache");
    }

    /** @return the version's directory in the cache ({@code boot/}, {@code lib/modules/}, ...) */
    public Path directory() {
        return vmlinuz.getParent().getParent();
    }

    /** @return the compressed kernel image qemu boots */
    public Path vmlinuz() {
        return vmlinuz;
    }

    /**
     * @param names modules to load, e.g. {@code 9p}
     * @return their .ko files and those they depend on, each after its dependencies (the order of insmod)
     */
    public List<Path> withDependencies(List<String> names) {
        Set<String> ordered = new LinkedHashSet<>();
        for (String name : names) {
            visit(normalized(name), ordered, new LinkedHashSet<>());
        }
        return ordered.stream().map(modules::get).toList();
    }

    private void visit(String name, Set<String> ordered, Set<String> path) {
        if (ordered.contains(name)) {
            return;
        }
        Path ko = modules.get(name);
        if (ko == null || !path.add(name)) {
            throw new AssertionError("kernel module " + name + " missing (or in a cycle) under " + vmlinuz.getParent()
                    + "/../lib/modules: run .ci/install-deps again");
        }
        for (String dependency : depends(ko)) {
            visit(dependency, ordered, path);
        }
        ordered.add(name);
    }

    /** The {@code depends=} entry of the module's .modinfo section. */
    private static List<String> depends(Path ko) {
        try {
            Matcher m = DEPENDS.matcher(new String(Files.readAllBytes(ko), ISO_8859_1));
            List<String> names = new ArrayList<>();
            if (m.find() && !m.group(1).isEmpty()) {
                for (String name : m.group(1).split(",")) {
                    names.add(normalized(name));
                }
            }
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path vmlinuz(Path version) throws IOException {
        Path boot = version.resolve("boot");
        if (!Files.isDirectory(boot)) {
            return null;
        }
        try (Stream<Path> files = Files.list(boot)) {
            return files.filter(f -> f.getFileName().toString().startsWith("vmlinuz-"))
                    .findFirst()
                    .orElse(null);
        }
    }

    private static Map<String, Path> index(Path modules) throws IOException {
        try (Stream<Path> all = Files.walk(modules)) {
            return all.filter(p -> p.getFileName().toString().endsWith(".ko"))
                    .collect(Collectors.toMap(
                            p -> normalized(p.getFileName().toString().replaceFirst("\\.ko$", "")),
                            p -> p,
                            (a, b) -> a));
        }
    }

    private static String normalized(String module) {
        return module.replace('-', '_');
    }
}
