package dev.isolated.internal.image;

import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Where unpacked images are kept between runs. The first that is set wins:
 * <ol>
 * <li>the configuration parameter (or, outside an extension context, system property) {@value #PROPERTY};</li>
 * <li>the environment variable {@value #ENVIRONMENT_VARIABLE};</li>
 * <li>{@code $XDG_CACHE_HOME/isolated} (when absolute, as the XDG spec asks);</li>
 * <li>{@code $HOME/.cache/isolated} (falling back to the {@code user.home} property).</li>
 * </ol>
 */
public final class CacheDirectory {

    /** Configuration parameter naming the cache directory: {@value}. */
    public static final String PROPERTY = SettingNames.CACHE_DIR;

    /** Environment variable naming the cache directory: {@value}. */
    public static final String ENVIRONMENT_VARIABLE = "ISOLATED_CACHE_DIR";

    /** What to do when the cache cannot be written (a full disk, a directory made read-only), after its failure. */
    public static final String WRITE_FIX =
            "Make room there or make the directory writable, or choose another one with -D" + PROPERTY + "=DIR or "
                    + ENVIRONMENT_VARIABLE + "=DIR";

    private CacheDirectory() {}

    /** The cache directory for this JVM's system properties and environment. */
    public static Path resolve() {
        return resolve(null);
    }

    /**
     * @param configuration looks up configuration parameters (which fall back to system properties)
     * @return the cache directory for that configuration and this JVM's environment
     */
    public static Path resolve(Function<String, Optional<String>> configuration) {
        // Plain calls, not lambdas: each lambda is a class spun at its first use, on the first test's path.
        return resolve(
                setting(configuration, PROPERTY),
                System.getenv(ENVIRONMENT_VARIABLE),
                System.getenv("XDG_CACHE_HOME"),
                System.getenv("HOME"),
                setting(configuration, "user.home"));
    }

    /** The configuration parameter {@code key}, else the system property; {@code null} when neither is set. */
    private static String setting(Function<String, Optional<String>> configuration, String key) {
        Optional<String> value = configuration == null ? Optional.empty() : configuration.apply(key);
        return value.isPresent() ? value.get() : System.getProperty(key);
    }

    /**
     * The cache directory for the given lookups (for testing purposes).
     *
     * @param systemProperties looks up a configuration parameter or system property, {@code null} when unset
     * @param environment looks up an environment variable, {@code null} when unset
     */
    static Path resolve(UnaryOperator<String> systemProperties, UnaryOperator<String> environment) {
        return resolve(
                systemProperties.apply(PROPERTY),
                environment.apply(ENVIRONMENT_VARIABLE),
                environment.apply("XDG_CACHE_HOME"),
                environment.apply("HOME"),
                systemProperties.apply("user.home"));
    }

    private static Path resolve(String property, String variable, String xdgCacheHome, String home, String userHome) {
        if (isSet(property)) {
            return Path.of(property).toAbsolutePath();
        }
        if (isSet(variable)) {
            return Path.of(variable).toAbsolutePath();
        }
        if (isSet(xdgCacheHome) && Path.of(xdgCacheHome).isAbsolute()) {
            return Path.of(xdgCacheHome, "isolated");
        }
        return Path.of(isSet(home) ? home : userHome, ".cache", "isolated").toAbsolutePath();
    }

    private static boolean isSet(String value) {
        return value != null && !value.isBlank();
    }
}
