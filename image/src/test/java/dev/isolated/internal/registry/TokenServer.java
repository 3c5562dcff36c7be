package dev.isolated.internal.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The token endpoint of the bearer-token flow, served from the test's JVM: it checks Basic credentials
 * and answers {@code {"token": <RS256 JWT>}} granting pull (and push) on the repositories asked for,
 * signed by a key whose self-signed certificate ({@code openssl req -x509}) is the registry's
 * {@code rootcertbundle}; an OAuth2 POST with {@code grant_type=refresh_token} and the refresh token set gets
 * {@code {"access_token": <JWT>}} the same way. It records the GETs' Authorization headers and the POSTs' forms.
 */
public final class TokenServer implements AutoCloseable {

    static final String SERVICE = "isolated-test-registry";
    static final String ISSUER = "isolated-test-issuer";

    private final HttpServer server;
    private final Path certificate;
    private final PrivateKey key;
    private final String certificateBase64;
    private final String user;
    private final String password;
    private final List<String> authorizations = new ArrayList<>();
    private final List<Map<String, String>> oauthForms = new ArrayList<>();
    private volatile String refreshToken;

    public TokenServer(Path work, String user, String password) throws Exception {
        this.user = user;
        this.password = password;
        Files.createDirectories(work);
        Path keyFile = work.resolve("token.key");
        certificate = work.resolve("token.crt");
        TlsCertificate.selfSigned(work, keyFile, certificate, "/CN=isolated-test-token");
        String pem =
                Files.readString(keyFile).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        key = KeyFactory.getInstance("RSA")
                .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
        X509Certificate cert;
        try (var in = Files.newInputStream(certificate)) {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        certificateBase64 = Base64.getEncoder().encodeToString(cert.getEncoded());
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/token", exchange -> {
            if (exchange.getRequestMethod().equals("POST")) {
                answerOAuth(exchange);
                return;
            }
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            synchronized (authorizations) {
                authorizations.add(String.valueOf(auth));
            }
            String expected = "Basic "
                    + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
            byte[] body;
            int status;
            if (auth != null && !auth.equals(expected)) {
                status = 401;
                body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"wrong user or password\"}]}"
                        .getBytes(StandardCharsets.UTF_8);
            } else {
                status = 200;
                String query = exchange.getRequestURI().getRawQuery();
                List<String> scopes = new ArrayList<>();
                for (String parameter : query == null ? new String[0] : query.split("&")) {
                    if (parameter.startsWith("scope=")) {
                        scopes.add(URLDecoder.decode(parameter.substring(6), StandardCharsets.UTF_8));
                    }
                }
                // anonymous gets nothing: the registry answers insufficient_scope
                body = ("{\"token\":\"" + token(auth == null ? List.of() : scopes) + "\",\"expires_in\":300}")
                        .getBytes(StandardCharsets.UTF_8);
            }
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    /**
     * The OAuth2 token request of the distribution spec: a form with {@code grant_type=refresh_token} and the
     * {@link #refreshToken(String) refresh token}; anything else gets 400 {@code invalid_grant}.
     */
    private void answerOAuth(HttpExchange exchange) throws IOException {
        String form = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        Map<String, String> fields = new LinkedHashMap<>();
        List<String> scopes = new ArrayList<>();
        for (String parameter : form.split("&")) {
            String[] pair = parameter.split("=", 2);
            String value = pair.length < 2 ? "" : URLDecoder.decode(pair[1], StandardCharsets.UTF_8);
            fields.putIfAbsent(pair[0], value);
            if (pair[0].equals("scope")) {
                scopes.add(value);
            }
        }
        synchronized (authorizations) {
            oauthForms.add(fields);
        }
        byte[] body;
        int status;
        String expected = refreshToken;
        if (expected != null
                && "refresh_token".equals(fields.get("grant_type"))
                && expected.equals(fields.get("refresh_token"))) {
            status = 200;
            body = ("{\"access_token\":\"" + token(scopes) + "\",\"expires_in\":300}").getBytes(StandardCharsets.UTF_8);
        } else {
            status = 400;
            body = "{\"error\":\"invalid_grant\"}".getBytes(StandardCharsets.UTF_8);
        }
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** The refresh token (identity token) an OAuth2 POST must bring; none is accepted until it is set. */
    public void refreshToken(String token) {
        refreshToken = token;
    }

    /** The forms of the OAuth2 POSTs so far, field by field (the first of each name). */
    public List<Map<String, String>> oauthForms() {
        synchronized (authorizations) {
            return new ArrayList<>(oauthForms);
        }
    }

    private String token(List<String> scopes) {
        try {
            StringBuilder access = new StringBuilder();
            for (String scope : scopes) {
                String[] parts = scope.split(":");
                String name = String.join(":", java.util.Arrays.copyOfRange(parts, 1, parts.length - 1));
                access.append(access.length() == 0 ? "" : ",")
                        .append("{\"type\":\"")
                        .append(parts[0])
                        .append("\",\"name\":\"")
                        .append(name)
                        .append("\",\"actions\":[\"pull\",\"push\"]}");
            }
            long now = System.currentTimeMillis() / 1000;
            String header = "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"x5c\":[\"" + certificateBase64 + "\"]}";
            String claims = "{\"iss\":\"" + ISSUER + "\",\"sub\":\"" + user + "\",\"aud\":\"" + SERVICE + "\",\"exp\":"
                    + (now + 300)
                    + ",\"nbf\":" + (now - 10) + ",\"iat\":" + now + ",\"jti\":\"" + UUID.randomUUID()
                    + "\",\"access\":["
                    + access + "]}";
            Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
            String signingInput = url.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
                    + url.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
            Signature signature = Signature.getInstance("SHA256withRSA");
            signature.initSign(key);
            signature.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + url.encodeToString(signature.sign());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code http://127.0.0.1:<port>/token}. */
    public String realm() {
        return "http://" + host() + "/token";
    }

    public String host() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    Path certificate() {
        return certificate;
    }

    /** The Authorization headers of the token requests so far ("null" for none). */
    public List<String> authorizations() {
        synchronized (authorizations) {
            return new ArrayList<>(authorizations);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
