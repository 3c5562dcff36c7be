package dev.isolated.internal.registry;

import dev.isolated.internal.image.SettingNames;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * The configuration of pulls, read from {@code IsolatedConfiguration}'s {@code isolated.pull} and
 * {@code isolated.registry.*} keys and the environment.
 *
 * @param policy when to contact the registry
 * @param insecure the registries ({@code host[:port]}) that may be reached over plain HTTP
 * @param mirror the base URL docker.io images are pulled from instead, or {@code null}
 * @param username explicit credentials' user, or {@code null}
 * @param password explicit credentials' secret, or {@code null}
 * @param usernameSource where {@code username} came from, for messages
 * @param environment looks up environment variables ({@code DOCKER_CONFIG}, {@code DOCKER_AUTH_CONFIG}, {@code HOME},
 *     the proxy variables)
 * @param platform the platform an image is pulled for ({@code isolated.image.platform})
 */
public record PullSettings(
        Policy policy,
        Set<String> insecure,
        String mirror,
        String username,
        String password,
        String usernameSource,
        UnaryOperator<String> environment,
        ImagePlatform platform) {

    /** Environment variable for the user name when {@link SettingNames#REGISTRY_USERNAME} is unset. */
    public static final String USERNAME_VARIABLE = "ISOLATED_REGISTRY_USERNAME";

    /** Environment variable for the password when {@link SettingNames#REGISTRY_PASSWORD} is unset. */
    public static final String PASSWORD_VARIABLE = "ISOLATED_REGISTRY_PASSWORD";

    /** When to contact the registry. */
    public enum Policy {
        /** Only when the store has nothing for the name. */
        MISSING,
        /** Once per run for a tag. */
        ALWAYS,
        /** Never: offline, from the store only. */
        NEVER
    }

    /**
     * @param configuration looks up configuration parameters
     * @param environment looks up environment variables
     * @throws IllegalArgumentException naming the key whose value is not valid
     */
    public static PullSettings from(
            Function<String, Optional<String>> configuration, UnaryOperator<String> environment) {
        String policyText =
                configuration.apply(SettingNames.PULL).map(String::trim).orElse("missing");
        Policy policy;
        try {
            policy = Policy.valueOf(policyText.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    SettingNames.PULL + "=" + policyText + " is not valid: write missing, always or never", e);
        }
        Set<String> insecure = Arrays.stream(configuration
                        .apply(SettingNames.REGISTRY_INSECURE)
                        .orElse("")
                        .split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .map(s -> s.toLowerCase(Locale.ROOT))
                .collect(Collectors.toUnmodifiableSet());
        String mirror = configuration
                .apply(SettingNames.REGISTRY_MIRROR)
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .map(PullSettings::checkMirror)
                .orElse(null);
        String username = configuration
                .apply(SettingNames.REGISTRY_USERNAME)
                .filter(s -> !s.isEmpty())
                .orElse(null);
        String source = SettingNames.REGISTRY_USERNAME;
        String password = configuration.apply(SettingNames.REGISTRY_PASSWORD).orElse(null);
        if (username == null) {
            username = emptyToNull(environment.apply(USERNAME_VARIABLE));
            password = environment.apply(PASSWORD_VARIABLE);
            source = USERNAME_VARIABLE;
        }
        ImagePlatform platform = configuration
                .apply(SettingNames.IMAGE_PLATFORM)
                .filter(s -> !s.isBlank())
                .map(ImagePlatform::parse)
                .orElseGet(ImagePlatform::current);
        return new PullSettings(
                policy, insecure, mirror, username, password == null ? "" : password, source, environment, platform);
    }

    private static String checkMirror(String mirror) {
        String url = mirror.contains("://") ? mirror : "https://" + mirror;
        while (url.endsWith("/")) {
            url = url.substring(0, url.length() - 1);
        }
        if (!url.matches("https?://[^/?#@]+")) {
            throw new IllegalArgumentException(SettingNames.REGISTRY_MIRROR + "=" + mirror
                    + " is not valid: write a scheme and host only, e.g. https://mirror.example.com or "
                    + "http://127.0.0.1:5000 (with the host listed in " + SettingNames.REGISTRY_INSECURE
                    + ")");
        }
        return url;
    }

    private static String emptyToNull(String value) {
        return value == null || value.isEmpty() ? null : value;
    }

    /** Whether {@code hostAndPort} may be reached over plain HTTP. */
    boolean allowsHttp(String hostAndPort) {
        return insecure.contains(hostAndPort.toLowerCase(Locale.ROOT));
    }
}
