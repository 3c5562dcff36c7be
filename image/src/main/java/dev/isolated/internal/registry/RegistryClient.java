package dev.isolated.internal.registry;

import dev.isolated.internal.image.SettingNames;
import dev.isolated.internal.json.JsonException;
import dev.isolated.internal.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Talks the OCI distribution protocol to one repository of one registry with the JDK's {@link HttpClient}:
 * manifests by tag or digest, blobs (with {@code Range} to resume), anonymous, Basic and Bearer-token auth
 * (the {@code WWW-Authenticate} challenge of the first 401; a Bearer token is asked for with a {@code GET} and
 * Basic credentials, or, for an identity token, with an OAuth2 {@code POST} of {@code grant_type=refresh_token}),
 * proxies as the JVM's properties or else {@link EnvironmentProxySelector the environment's variables} say,
 * retries of 429 and 5xx honouring {@code Retry-After}, and redirects followed by hand: at most {@value #MAX_REDIRECTS}, over https, or over
 * http only to a registry listed in {@code isolated.registry.insecure}; {@code Authorization} is sent only
 * to the registry's own scheme, host and port, never to where it redirects. Every response body (a blob's,
 * a manifest's, a token's) fails a read that waits longer than the stall timeout for a byte, by default
 * {@link #STALL_TIMEOUT}: the request timeout covers only the time until the headers arrive.
 */
final class RegistryClient {

    private static final Logger LOG = Logger.getLogger(RegistryClient.class.getName());

    /** The most bytes a manifest or image index may have. */
    static final int MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

    static final int MAX_REDIRECTS = 10;
    private static final int MAX_TOKEN_BYTES = 1024 * 1024;
    /** The {@code client_id} of an OAuth2 token request. */
    static final String OAUTH_CLIENT_ID = "isolated";

    private static final int MAX_ERROR_BYTES = 64 * 1024;
    private static final int ATTEMPTS = 3;
    private static final long MAX_RETRY_WAIT_SECONDS = 10;
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(60);
    /** How long a response body may send no byte before its read fails. */
    static final Duration STALL_TIMEOUT = Duration.ofSeconds(60);

    static final List<String> MANIFEST_TYPES = List.of(
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.docker.distribution.manifest.v2+json");

    /** The JVM's proxy configuration's client. */
    private static final HttpClient HTTP = builder().build();
    /** A client per configuration of the proxy environment variables. */
    private static final ConcurrentMap<EnvironmentProxySelector, HttpClient> PROXIED = new ConcurrentHashMap<>();

    private static final Pattern CHALLENGE_PARAMETER =
            Pattern.compile("([A-Za-z_]+)=(?:\"((?:[^\"\\\\]|\\\\.)*)\"|([^,\\s]*))");

    private final String image;
    private final String registry;
    private final URI base;
    private final String repository;
    private final PullSettings settings;
    private final Credentials credentials;
    private final Duration stallTimeout;
    private volatile String authorization;
    private final HttpClient http;

    /**
     * @param image the image as the user named it, for messages
     * @param registry the registry's name for messages ({@code docker.io}, or the mirror's URL)
     * @param base {@code scheme://host[:port]} of the registry's API
     * @param credentials what to answer a challenge with
     * @param stallTimeout how long a response body may send no byte
     */
    RegistryClient(
            String image,
            String registry,
            URI base,
            String repository,
            PullSettings settings,
            Credentials credentials,
            Duration stallTimeout) {
        this.image = image;
        this.registry = registry;
        this.base = base;
        this.repository = repository;
        this.settings = settings;
        this.credentials = credentials;
        this.stallTimeout = stallTimeout;
        this.http = client(image, settings);
    }

    private static HttpClient.Builder builder() {
        return HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(30))
                .version(HttpClient.Version.HTTP_1_1);
    }

    /** The client with the proxies of the environment's variables, unless a JVM proxy property is set. */
    private static HttpClient client(String image, PullSettings settings) {
        Optional<EnvironmentProxySelector> proxies;
        try {
            proxies = EnvironmentProxySelector.from(settings.environment(), System::getProperty);
        } catch (IllegalArgumentException e) {
            throw new ImagePullException("Image " + image + ": " + e.getMessage(), e);
        }
        return proxies.map(selector -> PROXIED.computeIfAbsent(selector, key -> {
                    LOG.fine(() -> "Registries are reached through the proxies of the environment: " + key);
                    return builder().proxy(key).build();
                }))
                .orElse(HTTP);
    }

    /**
     * A manifest or index as received.
     *
     * @param bytes its exact bytes
     * @param mediaType the {@code Content-Type} without parameters
     * @param digest {@code sha256:<hex>} of {@code bytes}
     */
    record Manifest(byte[] bytes, String mediaType, String digest) {}

    /**
     * Gets a manifest by tag or digest; its digest is computed from the bytes received, and checked against
     * {@code Docker-Content-Digest} when the registry sends one, and against {@code reference} when it is a digest.
     */
    Manifest manifest(String reference, String what) {
        HttpResponse<InputStream> response = get(
                "/v2/" + repository + "/manifests/" + reference, Map.of("Accept", String.join(", ", MANIFEST_TYPES)));
        int status = response.statusCode();
        if (status != 200) {
            throw failure(response, what, reference);
        }
        byte[] bytes;
        try (InputStream in = response.body()) {
            long declared =
                    response.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (declared > MAX_MANIFEST_BYTES) {
                throw new ImagePullException("Image " + image + ": its " + what + " from " + registry + " has "
                        + declared + " bytes, more than the " + MAX_MANIFEST_BYTES + " a manifest may have");
            }
            bytes = in.readNBytes(MAX_MANIFEST_BYTES + 1);
        } catch (IOException e) {
            throw new ImagePullException(
                    "Image " + image + ": cannot read its " + what + " from " + registry + ": " + why(e), e);
        }
        if (bytes.length > MAX_MANIFEST_BYTES) {
            throw new ImagePullException("Image " + image + ": its " + what + " from " + registry
                    + " has more than the " + MAX_MANIFEST_BYTES + " bytes a manifest may have");
        }
        String digest = "sha256:" + Digests.sha256Hex(bytes);
        Optional<String> claimed = response.headers().firstValue("Docker-Content-Digest");
        if (claimed.isPresent()
                && claimed.get().startsWith("sha256:")
                && !claimed.get().equals(digest)) {
            throw new ImagePullException("Image " + image + ": its " + what + " from " + registry
                    + " does not match its digest: the registry says " + claimed.get() + ", its content hashes to "
                    + digest
                    + "; nothing was stored");
        }
        if (reference.startsWith("sha256:") && !reference.equals(digest)) {
            throw new ImagePullException("Image " + image + ": its " + what + " " + reference + " from " + registry
                    + " does not match its digest: its content hashes to " + digest + "; nothing was stored");
        }
        String type = response.headers()
                .firstValue("Content-Type")
                .map(t -> t.split(";")[0].trim().toLowerCase(Locale.ROOT))
                .orElse("");
        if (type.startsWith("application/vnd.docker.distribution.manifest.v1")) {
            throw new ImagePullException(
                    "Image " + image + ": " + registry + " serves it as a Docker schema 1 manifest (" + type
                            + "), a format deprecated since 2017 that Isolated does not read; push it again with a current tool");
        }
        return new Manifest(bytes, type, digest);
    }

    /**
     * The digest the registry gives for a tag without downloading the manifest ({@code HEAD}, which Docker Hub
     * does not count as a pull), or {@code null} when it gives none.
     */
    String headDigest(String tag) {
        HttpResponse<InputStream> response = get(
                "HEAD", "/v2/" + repository + "/manifests/" + tag, Map.of("Accept", String.join(", ", MANIFEST_TYPES)));
        drain(response);
        if (response.statusCode() != 200) {
            return null; // the GET that follows says why
        }
        return response.headers()
                .firstValue("Docker-Content-Digest")
                .filter(d -> d.matches("sha256:[0-9a-f]{64}"))
                .orElse(null);
    }

    /**
     * Starts a blob's download at {@code offset}; the caller reads and closes the body.
     *
     * @return the response: 200 (whole blob) or 206 (from {@code offset})
     */
    HttpResponse<InputStream> blob(String digest, long offset, String what) {
        Map<String, String> headers = offset > 0 ? Map.of("Range", "bytes=" + offset + "-") : Map.of();
        HttpResponse<InputStream> response = get("/v2/" + repository + "/blobs/" + digest, headers);
        int status = response.statusCode();
        if (status == 200 || status == 206 || (status == 416 && offset > 0)) {
            return response;
        }
        throw failure(response, what, digest);
    }

    /** GETs {@code path} of the registry, answering an auth challenge once. */
    private HttpResponse<InputStream> get(String path, Map<String, String> headers) {
        return get("GET", path, headers);
    }

    private HttpResponse<InputStream> get(String method, String path, Map<String, String> headers) {
        URI uri = base.resolve(path);
        HttpResponse<InputStream> response = sendWithRetries(method, uri, headers);
        if (response.statusCode() == 401) {
            String challenge = response.headers().firstValue("WWW-Authenticate").orElse("");
            authorize(challenge, new Refusal(response.statusCode(), readError(response)));
            response = sendWithRetries(method, uri, headers);
        }
        return response;
    }

    private HttpResponse<InputStream> sendWithRetries(String method, URI uri, Map<String, String> headers) {
        for (int attempt = 1; ; attempt++) {
            HttpResponse<InputStream> response = sendFollowingRedirects(method, uri, headers);
            int status = response.statusCode();
            if (!retried(status) || attempt == ATTEMPTS) {
                return response;
            }
            long wait = response.headers()
                    .firstValue("Retry-After")
                    .flatMap(RegistryClient::seconds)
                    .orElse(attempt == 1 ? 1L : 3L);
            wait = Math.min(Math.max(wait, 0), MAX_RETRY_WAIT_SECONDS);
            drain(response);
            long seconds = wait;
            int tried = attempt;
            LOG.info(() -> "Image " + image + ": " + registry + " answered HTTP " + status + " to " + method + " "
                    + uri.getPath() + "; trying again in " + seconds + " s (attempt " + (tried + 1) + " of " + ATTEMPTS
                    + ")");
            sleep(wait);
        }
    }

    /** Whether an answer with {@code status} is tried {@value #ATTEMPTS} times in all before it counts. */
    private static boolean retried(int status) {
        return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
    }

    private HttpResponse<InputStream> sendFollowingRedirects(String method, URI start, Map<String, String> headers) {
        URI uri = start;
        for (int hop = 0; ; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                    .method(method, HttpRequest.BodyPublishers.noBody())
                    .header("User-Agent", "isolated")
                    .timeout(RESPONSE_TIMEOUT); // until the headers arrive; the body's reads have the stall timeout
            headers.forEach(request::header);
            String auth = authorization;
            if (auth != null && sameOrigin(uri, base)) {
                request.header("Authorization", auth);
            }
            HttpResponse<InputStream> response = send(request.build());
            int status = response.statusCode();
            if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
                response.headers().allValues("Warning").stream()
                        .filter(w -> w.startsWith("299"))
                        .forEach(w -> LOG.warning(() -> "Image " + image + ": " + registry + " warns: " + w));
                return response;
            }
            drain(response);
            if (hop >= MAX_REDIRECTS) {
                throw new ImagePullException("Image " + image + ": " + registry + " redirected " + method + " "
                        + start.getPath() + " more than " + MAX_REDIRECTS + " times");
            }
            String location = response.headers()
                    .firstValue("Location")
                    .orElseThrow(() -> new ImagePullException("Image " + image + ": " + registry + " answered HTTP "
                            + status + " without a Location to " + method + " " + start.getPath()));
            URI next;
            try {
                next = uri.resolve(new URI(location));
            } catch (URISyntaxException | IllegalArgumentException e) {
                throw new ImagePullException(
                        "Image " + image + ": " + registry + " redirected to '" + location + "', which is not a URL",
                        e);
            }
            checkAllowed(next, "a redirect from " + registry + " to " + next);
            uri = next;
        }
    }

    /** Refuses URLs that are neither https nor an http registry listed as insecure. */
    void checkAllowed(URI uri, String what) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("https")) {
            return;
        }
        if (scheme.equals("http") && uri.getHost() != null && settings.allowsHttp(hostAndPort(uri))) {
            return;
        }
        throw new ImagePullException("Image " + image + ": refused " + what + ": only https is used, and plain http "
                + "only for the registries listed in " + SettingNames.REGISTRY_INSECURE + " ("
                + hostAndPort(uri)
                + " is not)");
    }

    private HttpResponse<InputStream> send(HttpRequest request) {
        try {
            return new StallTimed(http.send(request, HttpResponse.BodyHandlers.ofInputStream()), stallTimeout);
        } catch (IOException e) {
            throw new RegistryIoException(request.uri(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImagePullException("Interrupted while pulling from " + request.uri(), e);
        }
    }

    /** A response whose body fails a read that waits longer than the stall timeout. */
    private record StallTimed(HttpResponse<InputStream> response, InputStream body)
            implements HttpResponse<InputStream> {
        StallTimed(HttpResponse<InputStream> response, Duration stallTimeout) {
            this(response, new StallTimeoutInputStream(response.body(), stallTimeout));
        }

        @Override
        public int statusCode() {
            return response.statusCode();
        }

        @Override
        public HttpRequest request() {
            return response.request();
        }

        @Override
        public Optional<HttpResponse<InputStream>> previousResponse() {
            return response.previousResponse();
        }

        @Override
        public java.net.http.HttpHeaders headers() {
            return response.headers();
        }

        @Override
        public Optional<javax.net.ssl.SSLSession> sslSession() {
            return response.sslSession();
        }

        @Override
        public URI uri() {
            return response.uri();
        }

        @Override
        public HttpClient.Version version() {
            return response.version();
        }
    }

    /** {@code no byte arrived for 60 s} for a stall, else the exception. */
    private static String why(IOException e) {
        return e instanceof StallTimeoutInputStream.Stalled ? e.getMessage() : e.toString();
    }

    /**
     * A connection failure; the puller names the image. A failed TLS handshake (a certificate this JVM does not trust,
     * or a registry that speaks plain HTTP) is said as such, with the fixes.
     */
    static final class RegistryIoException extends RuntimeException {
        RegistryIoException(URI uri, IOException cause) {
            super(
                    "cannot reach " + uri.getScheme() + "://" + hostAndPort(uri) + ": "
                            + (isTls(cause)
                                    ? "the TLS handshake failed (" + cause + ")" + tlsHint(hostAndPort(uri))
                                    : cause),
                    cause);
        }

        private static boolean isTls(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof javax.net.ssl.SSLException) {
                    return true;
                }
            }
            return false;
        }

        private static String tlsHint(String hostAndPort) {
            return ". If the registry's certificate is not trusted, add it (or its CA's) to "
                    + "the JVM's trust store, e.g. with keytool -importcert -cacerts, or give one with "
                    + "-Djavax.net.ssl.trustStore=FILE; if it serves plain HTTP, list " + hostAndPort + " in "
                    + SettingNames.REGISTRY_INSECURE;
        }
    }

    /** A 401 or 403: its status and error body. */
    private record Refusal(int status, String body) {}

    /** Answers a 401's challenge: Basic with the credentials, or a Bearer token from the realm. */
    private void authorize(String challenge, Refusal refused) {
        String scheme = challenge.trim().split("\\s+", 2)[0].toLowerCase(Locale.ROOT);
        if (authorization != null && !scheme.equals("bearer")) {
            throw unauthorized(refused, null);
        }
        switch (scheme) {
            case "basic" -> {
                if (credentials.isAnonymous()) {
                    throw unauthorized(refused, "it asks for a user and password (Basic auth)");
                }
                if (credentials.isIdentityToken()) {
                    throw unauthorized(
                            refused,
                            "it asks for a user and password (Basic auth), and an identity token is "
                                    + "only exchanged with a Bearer token server");
                }
                authorization = credentials.basicHeader();
            }
            case "bearer" -> authorization = "Bearer " + token(parameters(challenge), refused);
            default ->
                throw unauthorized(
                        refused,
                        challenge.isEmpty()
                                ? "it sent no WWW-Authenticate challenge"
                                : "its challenge '" + challenge + "' is neither Basic nor Bearer");
        }
        LOG.fine(() -> "Image " + image + ": authenticating to " + registry + " with " + credentials.source());
    }

    private String token(Map<String, String> parameters, Refusal refused) {
        String realm = parameters.get("realm");
        if (realm == null || realm.isEmpty()) {
            throw unauthorized(refused, "its Bearer challenge names no realm");
        }
        StringBuilder query = new StringBuilder();
        if (parameters.containsKey("service")) {
            query.append("service=").append(URLEncoder.encode(parameters.get("service"), StandardCharsets.UTF_8));
        }
        String scope = "repository:" + repository + ":pull";
        query.append(query.length() == 0 ? "" : "&")
                .append("scope=")
                .append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
        boolean oauth = credentials.isIdentityToken();
        URI uri;
        try {
            URI realmUri = new URI(realm);
            uri = oauth
                    ? realmUri
                    : new URI(realmUri.toString() + (realmUri.getRawQuery() == null ? "?" : "&") + query);
        } catch (URISyntaxException e) {
            throw unauthorized(refused, "its token realm '" + realm + "' is not a URL");
        }
        checkAllowed(uri, "the token realm " + uri.getScheme() + "://" + hostAndPort(uri));
        HttpRequest.Builder request =
                HttpRequest.newBuilder(uri).header("User-Agent", "isolated").timeout(Duration.ofSeconds(60));
        if (oauth) {
            // The distribution spec's OAuth2 token request: the identity token is a refresh token.
            String form = "grant_type=refresh_token&refresh_token="
                    + URLEncoder.encode(credentials.secret(), StandardCharsets.UTF_8) + "&" + query + "&client_id="
                    + OAUTH_CLIENT_ID;
            request.POST(HttpRequest.BodyPublishers.ofString(form))
                    .header("Content-Type", "application/x-www-form-urlencoded");
        } else {
            request.GET();
            if (!credentials.isAnonymous()) {
                request.header("Authorization", credentials.basicHeader());
            }
        }
        HttpResponse<InputStream> response = send(request.build());
        String body;
        try (InputStream in = response.body()) {
            body = new String(in.readNBytes(MAX_TOKEN_BYTES), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ImagePullException("Image " + image + ": cannot read the token from " + realm + ": " + why(e), e);
        }
        if (response.statusCode() == 401 || response.statusCode() == 403 || (oauth && response.statusCode() == 400)) {
            throw new ImagePullException("Image " + image + ": the token server " + realm + " of " + registry
                    + " refused the credentials (HTTP " + response.statusCode() + errorSummary(body) + oauthError(body)
                    + "); credentials tried: " + credentials.source() + ". " + credentialsHint());
        }
        if (oauth && (response.statusCode() == 404 || response.statusCode() == 405)) {
            throw new ImagePullException("Image " + image + ": the token server " + realm + " of " + registry
                    + " answered HTTP " + response.statusCode()
                    + " to the OAuth2 POST an identity token needs, so it takes "
                    + "none; credentials tried: " + credentials.source() + ". Log in with a user and password instead");
        }
        if (response.statusCode() != 200) {
            throw new ImagePullException("Image " + image + ": the token server " + realm + " of " + registry
                    + " answered HTTP " + response.statusCode() + errorSummary(body));
        }
        try {
            JsonObject json = JsonObject.parse(body, "token from " + realm);
            String token = json.optionalString("token");
            if (token == null || token.isEmpty()) {
                token = json.optionalString("access_token");
            }
            if (token == null || token.isEmpty() || !token.matches("[\\x21-\\x7e]+")) {
                throw new ImagePullException(
                        "Image " + image + ": the token server " + realm + " sent no usable token");
            }
            return token;
        } catch (JsonException e) {
            throw new ImagePullException(
                    "Image " + image + ": the token server " + realm + " sent no JSON: " + e.getMessage(), e);
        }
    }

    /** {@code " invalid_grant"} from an OAuth2 error body ({@code {"error": ...}}), or {@code ""}. */
    private static String oauthError(String body) {
        try {
            String error = JsonObject.parse(body, "error").optionalString("error");
            return error == null || error.isEmpty() ? "" : " " + clip(error);
        } catch (JsonException | ClassCastException e) {
            return "";
        }
    }

    static Map<String, String> parameters(String challenge) {
        Map<String, String> parameters = new LinkedHashMap<>();
        String[] parts = challenge.trim().split("\\s+", 2);
        if (parts.length < 2) {
            return parameters;
        }
        Matcher matcher = CHALLENGE_PARAMETER.matcher(parts[1]);
        while (matcher.find()) {
            String value = matcher.group(2) != null ? matcher.group(2).replaceAll("\\\\(.)", "$1") : matcher.group(3);
            parameters.putIfAbsent(matcher.group(1).toLowerCase(Locale.ROOT), value);
        }
        return parameters;
    }

    private ImagePullException unauthorized(Refusal refusal, String why) {
        return new ImagePullException("Image " + image + ": " + registry + " refused access (HTTP "
                + refusal.status() + errorSummary(refusal.body()) + ")"
                + (why == null ? "" : ": " + why) + "; credentials tried: " + credentials.source() + ". "
                + credentialsHint());
    }

    private String credentialsHint() {
        return "Check the name, then set " + SettingNames.REGISTRY_USERNAME + " and "
                + SettingNames.REGISTRY_PASSWORD + " (or " + PullSettings.USERNAME_VARIABLE + " and "
                + PullSettings.PASSWORD_VARIABLE + "), DOCKER_AUTH_CONFIG, or log in with docker login";
    }

    /** The error for an unexpected answer to a manifest or blob GET. */
    ImagePullException failure(HttpResponse<InputStream> response, String what, String reference) {
        int status = response.statusCode();
        if (status == 401 || status == 403) {
            return unauthorized(new Refusal(status, readError(response)), null);
        }
        String summary = errorSummary(readError(response));
        if (status == 404) {
            return new ImagePullException("Image " + image + ": " + registry + " has no " + what + " " + repository
                    + (reference.startsWith("sha256:") ? "@" : ":") + reference + " (HTTP 404" + summary
                    + "); check the repository name and the tag or digest");
        }
        if (status == 429) {
            StringBuilder limits = new StringBuilder();
            for (String header :
                    List.of("ratelimit-limit", "ratelimit-remaining", "docker-ratelimit-source", "retry-after")) {
                response.headers()
                        .firstValue(header)
                        .ifPresent(v ->
                                limits.append("; ").append(header).append(": ").append(v));
            }
            return new ImagePullException(
                    "Image " + image + ": " + registry + " limits the rate of pulls (HTTP 429" + summary
                            + limits + "), still after " + ATTEMPTS
                            + " attempts. Log in for a higher limit (credentials tried: "
                            + credentials.source() + "), or pull docker.io images through a mirror: set "
                            + SettingNames.REGISTRY_MIRROR + " (e.g. https://mirror.gcr.io)");
        }
        return new ImagePullException(
                "Image " + image + ": " + registry + " answered HTTP " + status + summary + " to GET " + what + " "
                        + reference + (retried(status) ? ", still after " + ATTEMPTS + " attempts" : ""));
    }

    private static String readError(HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            return new String(in.readNBytes(MAX_ERROR_BYTES), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** {@code " MANIFEST_UNKNOWN: manifest unknown"} from an error body, or {@code ""}. */
    static String errorSummary(String body) {
        try {
            List<JsonObject> errors = JsonObject.parse(body, "error").objects("errors");
            if (!errors.isEmpty()) {
                String code = errors.get(0).optionalString("code");
                String message = errors.get(0).optionalString("message");
                return " " + (code == null ? "" : code) + (message == null ? "" : ": " + clip(message));
            }
        } catch (JsonException | ClassCastException e) {
            // not the registry's error format
        }
        return "";
    }

    private static String clip(String text) {
        String oneLine = text.replaceAll("[\\p{Cntrl}]", " ");
        return oneLine.length() > 200 ? oneLine.substring(0, 200) + "..." : oneLine;
    }

    private static Optional<Long> seconds(String text) {
        try {
            return Optional.of(Long.parseLong(text.trim()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static void sleep(long seconds) {
        try {
            Thread.sleep(seconds * 1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImagePullException("Interrupted while waiting to retry a pull", e);
        }
    }

    static void drain(HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            in.skip(MAX_ERROR_BYTES);
        } catch (IOException e) {
            // the connection is dropped instead of reused
        }
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme())
                && a.getHost() != null
                && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    static String hostAndPort(URI uri) {
        String host = uri.getHost() == null ? String.valueOf(uri.getAuthority()) : uri.getHost();
        return uri.getPort() >= 0 ? host + ":" + uri.getPort() : host;
    }
}
