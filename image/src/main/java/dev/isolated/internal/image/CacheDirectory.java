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

    private CacheDirectory() {}

    /** The cache directory for this JVM's system properties and environment. */
    public static Path resolve() {
        return resolve(System::getProperty, System::getenv);
    }

    /**
     * @param configuration looks up configuration parameters (which fall back to system properties)
     * @return the cache directory for that configuration and this JVM's environment
     */
    public static Path resolve(Function<String, Optional<String>> configuration) {
        return resolve(
                key -> configuration
                        .apply(key)
                        .or(() -> Optional.ofNullable(System.getProperty(key)))
                        .orElse(null),
                System::getenv);
    }

    /**
     * The cache directory for the given lookups (for testing purposes).
     *
     * @param systemProperties looks up a configuration parameter or system property, {@code null} when unset
     * @param environment looks up an environment variable, {@code null} when unset
     */
    static Path resolve(UnaryOperator<String> systemProperties, UnaryOperator<String> environment) {
        String property = systemProperties.apply(PROPERTY);
        if (isSet(property)) {
            return Path.of(property).toAbsolutePath();
        }
        String variable = environment.apply(ENVIRONMENT_VARIABLE);
        if (isSet(variable)) {
            return Path.of(variable).toAbsolutePath();
        }
        String xdgCacheHome = environment.apply("XDG_CACHE_HOME");
        if (isSet(xdgCacheHome) && Path.of(xdgCacheHome).isAbsolute()) {
            return Path.of(xdgCacheHome, "isolated");
        }
        String home = environment.apply("HOME");
        if (!isSet(home)) {
            home = systemProperties.apply("user.home");
        }
        return Path.of(home, ".cache", "isolated").toAbsolutePath();
    }

    private static boolean isSet(String value) {
        return value != null && !value.isBlank();
    }
}
