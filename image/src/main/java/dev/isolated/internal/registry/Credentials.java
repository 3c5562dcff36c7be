package dev.isolated.internal.registry;

import dev.isolated.internal.json.JsonException;
import dev.isolated.internal.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * The credentials for one registry host, looked up in this order (the first that has any wins):
 * <ol>
 * <li>{@code isolated.registry.username}/{@code password} (or {@code ISOLATED_REGISTRY_USERNAME}/{@code _PASSWORD});</li>
 * <li>the {@code DOCKER_AUTH_CONFIG} environment variable's {@code auths} (JSON, as in {@code config.json});</li>
 * <li>{@code $DOCKER_CONFIG/config.json}, else {@code ~/.docker/config.json}: {@code credHelpers[host]}, else
 *     {@code credsStore}, through the {@code docker-credential-<name> get} program, then {@code auths[host]};</li>
 * <li>none (anonymous).</li>
 * </ol>
 * An identity token (a refresh token: a helper's answer with the user {@code <token>}, or an {@code auths}
 * entry's {@code identitytoken}) has the user {@value #IDENTITY_TOKEN_USER}; it is exchanged for a Bearer token
 * with an OAuth2 {@code POST} to the realm, never sent as Basic credentials.
 *
 * @param username the user, {@value #IDENTITY_TOKEN_USER} for an identity token, or {@code null} for anonymous
 * @param secret the password or the identity token
 * @param source where they came from, for messages and the log; never the secret
 */
record Credentials(String username, String secret, String source) {

    private static final Logger LOG = Logger.getLogger(Credentials.class.getName());
    /** How long a credential helper may take to answer. */
    static final Duration HELPER_TIMEOUT = Duration.ofSeconds(30);

    private static final int MAX_CONFIG_BYTES = 4 * 1024 * 1024;

    /** The user Docker gives an identity token. */
    static final String IDENTITY_TOKEN_USER = "<token>";

    static Credentials anonymous(String why) {
        return new Credentials(null, null, why);
    }

    boolean isAnonymous() {
        return username == null;
    }

    /** Whether these are an identity token, to be exchanged for a Bearer token with {@code grant_type=refresh_token}. */
    boolean isIdentityToken() {
        return IDENTITY_TOKEN_USER.equals(username);
    }

    /** {@code Basic <base64(user:secret)>}. */
    String basicHeader() {
        return "Basic "
                + Base64.getEncoder().encodeToString((username + ":" + secret).getBytes(StandardCharsets.UTF_8));
    }

    /** The credentials for {@code host} (a registry's {@code host[:port]}; {@code docker.io} for Docker Hub). */
    static Credentials lookup(String host, PullSettings settings) {
        return lookup(host, settings, HELPER_TIMEOUT);
    }

    /** With a credential helper's timeout other than {@link #HELPER_TIMEOUT} (for testing purposes). */
    static Credentials lookup(String host, PullSettings settings, Duration helperTimeout) {
        if (settings.username() != null) {
            return new Credentials(
                    settings.username(),
                    settings.password(),
                    settings.usernameSource() + " (user '" + settings.username() + "')");
        }
        String authConfig = settings.environment().apply("DOCKER_AUTH_CONFIG");
        if (authConfig != null && !authConfig.isBlank()) {
            Credentials fromVariable = fromAuths(parse(authConfig, "DOCKER_AUTH_CONFIG"), host, "DOCKER_AUTH_CONFIG");
            if (fromVariable != null) {
                return fromVariable;
            }
        }
        Path file = dockerConfig(settings);
        String text;
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES) {
                throw new ImagePullException("Docker's " + file + " has more than " + MAX_CONFIG_BYTES + " bytes");
            }
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            return anonymous("anonymous (no " + file + ", "
                    + (authConfig != null && !authConfig.isBlank()
                            ? "DOCKER_AUTH_CONFIG has none for " + host
                            : "no DOCKER_AUTH_CONFIG")
                    + ", no " + PullSettings.USERNAME_VARIABLE + ")");
        } catch (IOException e) {
            throw new ImagePullException("Cannot read Docker's credentials file " + file + ": " + e, e);
        }
        JsonObject config = parse(text, file.toString());
        String helper = config.stringMap("credHelpers").entrySet().stream()
                .filter(e -> hostOf(e.getKey()).equals(host))
                .map(Map.Entry::getValue)
                .findFirst()
                .orElse(null);
        String helperSource = "credHelpers";
        if (helper == null
                && config.optionalString("credsStore") != null
                && !config.optionalString("credsStore").isEmpty()) {
            helper = config.optionalString("credsStore");
            helperSource = "credsStore";
        }
        if (helper != null) {
            Credentials fromHelper = fromHelper(helper, host, helperSource + " in " + file, helperTimeout);
            if (fromHelper != null) {
                return fromHelper;
            }
        }
        Credentials fromFile = fromAuths(config, host, file.toString());
        return fromFile != null ? fromFile : anonymous("anonymous (" + file + " has no credentials for " + host + ")");
    }

    private static Path dockerConfig(PullSettings settings) {
        String directory = settings.environment().apply("DOCKER_CONFIG");
        if (directory != null && !directory.isBlank()) {
            return Path.of(directory, "config.json");
        }
        String home = settings.environment().apply("HOME");
        return Path.of(
                home == null || home.isBlank() ? System.getProperty("user.home") : home, ".docker", "config.json");
    }

    private static JsonObject parse(String text, String source) {
        try {
            return JsonObject.parse(text, source);
        } catch (JsonException e) {
            throw new ImagePullException("Cannot read the Docker credentials in " + source + ": " + e.getMessage(), e);
        }
    }

    /** The {@code auths} entry for {@code host}; keys with a scheme or path ({@code https://index.docker.io/v1/}) match by host. */
    private static Credentials fromAuths(JsonObject config, String host, String where) {
        JsonObject auths = config.optionalObject("auths");
        if (auths == null) {
            return null;
        }
        for (String key : auths.members().keySet()) {
            if (!hostOf(key).equals(host)) {
                continue;
            }
            JsonObject entry = auths.object(key);
            String identityToken = entry.optionalString("identitytoken");
            if (identityToken != null && !identityToken.isEmpty()) {
                return new Credentials(
                        IDENTITY_TOKEN_USER,
                        identityToken,
                        "auths entry '" + key + "' in " + where + " (identity token)");
            }
            String auth = entry.optionalString("auth");
            if (auth == null || auth.isEmpty()) {
                continue;
            }
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(auth), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new ImagePullException(
                        "The auths entry '" + key + "' in " + where + " has an 'auth' that is not base64");
            }
            int colon = decoded.indexOf(':');
            if (colon <= 0) {
                throw new ImagePullException(
                        "The auths entry '" + key + "' in " + where + " has an 'auth' that is not user:password");
            }
            String user = decoded.substring(0, colon);
            return new Credentials(
                    user,
                    decoded.substring(colon + 1),
                    "auths entry '" + key + "' in " + where + " (user '" + user + "')");
        }
        return null;
    }

    /** {@code https://index.docker.io/v1/} → {@code docker.io}; {@code ghcr.io/} → {@code ghcr.io}. */
    static String hostOf(String key) {
        String host = key;
        int scheme = host.indexOf("://");
        if (scheme >= 0) {
            host = host.substring(scheme + 3);
        }
        int slash = host.indexOf('/');
        if (slash >= 0) {
            host = host.substring(0, slash);
        }
        return switch (host) {
            case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com" -> ImageName.DOCKER_HUB;
            default -> host;
        };
    }

    /** Runs {@code docker-credential-<helper> get}; {@code null} when it has none for {@code host}. */
    private static Credentials fromHelper(String helper, String host, String where, Duration timeout) {
        if (!helper.matches("[A-Za-z0-9._-]+")) {
            throw new ImagePullException("The credential helper '" + helper + "' (" + where + ") is not a valid name");
        }
        String program = "docker-credential-" + helper;
        String serverUrl = host.equals(ImageName.DOCKER_HUB) ? "https://index.docker.io/v1/" : host;
        Process process;
        try {
            process = new ProcessBuilder(program, "get")
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            LOG.warning(() -> "Cannot run the credential helper " + program + " (" + where + "): " + e
                    + "; continuing without it");
            return null;
        }
        try (OutputStream in = process.getOutputStream()) {
            in.write(serverUrl.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // it may exit without reading; its answer says
        }
        try {
            byte[] answer = answer(process, timeout);
            if (answer == null) {
                stop(process);
                throw new ImagePullException("The credential helper " + program + " (" + where
                        + ") did not answer within " + timeout.toSeconds() + " s");
            }
            String text = new String(answer, StandardCharsets.UTF_8).trim();
            if (process.exitValue() != 0) {
                if (text.toLowerCase(java.util.Locale.ROOT).contains("credentials not found")) {
                    return null;
                }
                throw new ImagePullException("The credential helper " + program + " (" + where + ") failed for " + host
                        + " with exit " + process.exitValue() + ": " + text);
            }
            JsonObject json = parse(text, program + " get");
            Map<String, String> fields = Map.of(
                    "Username",
                    nullToEmpty(json.optionalString("Username")),
                    "Secret",
                    nullToEmpty(json.optionalString("Secret")));
            if (fields.get("Username").isEmpty()) {
                return null;
            }
            if (fields.get("Username").equals(IDENTITY_TOKEN_USER)) {
                return new Credentials(
                        IDENTITY_TOKEN_USER, fields.get("Secret"), program + " (" + where + ", identity token)");
            }
            return new Credentials(
                    fields.get("Username"),
                    fields.get("Secret"),
                    program + " (" + where + ", user '" + fields.get("Username") + "')");
        } catch (IOException e) {
            stop(process);
            throw new ImagePullException("Cannot read the answer of the credential helper " + program + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop(process);
            throw new ImagePullException("Interrupted while waiting for the credential helper " + program, e);
        }
    }

    /**
     * The helper's answer (its stdout, at most {@link #MAX_CONFIG_BYTES}) once it has exited, or {@code null} when it
     * did not close its stdout and exit within {@code timeout}. Its stdout is read on a thread of its own: a helper
     * that waits for something (a keychain prompt) and never closes it would block a read here for good.
     */
    private static byte[] answer(Process process, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        FutureTask<byte[]> reading = new FutureTask<>(() -> {
            try (InputStream out = process.getInputStream()) {
                return out.readNBytes(MAX_CONFIG_BYTES);
            }
        });
        Thread reader = new Thread(reading, "isolated credential helper " + process.pid());
        reader.setDaemon(true);
        reader.start();
        byte[] answer;
        try {
            answer = reading.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
        return process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS) ? answer : null;
    }

    /** Kills the helper and what it started (which may hold its stdout open). */
    private static void stop(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    private static String nullToEmpty(String value) {
        return value == null ? "" : value;
    }

    @Override
    public String toString() {
        return source; // never the secret
    }
}
