package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.apiguardian.api.API;

/**
 * Ready when an HTTP(S) endpoint of the service answers {@code GET} with an expected status; made by
 * {@link Wait#forHttp(int, String)}. The request goes from the JVM to {@code 127.0.0.1:}{@link
 * IsolatedEnvironment#mappedPort(int) mappedPort(port)}, over HTTP/1.1, without following redirects; each attempt
 * may take up to 5 s to connect (the TLS handshake included) and 5 s more to answer (less when the
 * startup timeout is nearer). The status line decides: the body is not read, the connection is closed once the
 * headers arrived (so a body that never ends, such as an event stream's, does not hold the wait). A timeout names the last attempt's answer or failure; an attempt that the
 * timeout itself cut short does not replace what an earlier attempt said. Immutable: each
 * method returns a new wait.
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class HttpWait extends Wait {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    private static final String NO_ANSWER = "no answer yet";

    private final int port;
    private final String path;
    private final Set<Integer> statuses;
    private final boolean tls;
    private final boolean insecure;

    HttpWait(int port, String path) {
        this(port, path, Set.of(200), false, false);
    }

    private HttpWait(int port, String path, Set<Integer> statuses, boolean tls, boolean insecure) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("forHttp(" + port + ", ...): a TCP port is 1..65535");
        }
        if (!Objects.requireNonNull(path).startsWith("/")) {
            throw new IllegalArgumentException("forHttp(" + port + ", \"" + path + "\"): the path must start with /");
        }
        this.port = port;
        this.path = path;
        this.statuses = statuses;
        this.tls = tls;
        this.insecure = insecure;
    }

    /**
     * A copy of this wait that accepts other statuses as ready.
     *
     * @param codes the statuses that make the service ready (instead of 200 alone), e.g. {@code 200, 401}
     * @return a wait for one of these statuses
     */
    public HttpWait forStatus(int... codes) {
        if (codes.length == 0) {
            throw new IllegalArgumentException("forStatus needs at least one status code");
        }
        Set<Integer> set = new TreeSet<>();
        Arrays.stream(codes).forEach(set::add);
        return new HttpWait(port, path, Set.copyOf(set), tls, insecure);
    }

    /**
     * {@return a wait that asks over HTTPS, trusting what the JVM's default trust store trusts (see
     *     {@link #allowInsecure()} for a service's self-signed certificate)}
     */
    public HttpWait usingTls() {
        return new HttpWait(port, path, statuses, true, insecure);
    }

    /**
     * {@return a wait that asks over HTTPS and accepts any certificate for any name, as a test's own service with a
     *     self-signed certificate needs (the connection goes to {@code 127.0.0.1} only)}
     */
    public HttpWait allowInsecure() {
        return new HttpWait(port, path, statuses, true, true);
    }

    @Override
    Probe probe(IsolatedEnvironment env, IsolatedProcess service) {
        URI uri = URI.create((tls ? "https" : "http") + "://127.0.0.1:" + env.mappedPort(port) + path);
        HttpClient client = insecure ? Clients.INSECURE : Clients.DEFAULT;
        return new Probe() {
            private String last = NO_ANSWER;

            @Override
            public boolean ready(long deadline) {
                long left = deadline - System.nanoTime();
                Duration timeout = Duration.ofNanos(Math.max(
                        Math.min(left, REQUEST_TIMEOUT.toNanos()),
                        Duration.ofMillis(100).toNanos()));
                HttpRequest request =
                        HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
                // the status line decides: the body is not read (one that never ends would outlast the request's
                // timeout, which covers the headers only), and closing it closes the connection
                try {
                    HttpResponse<InputStream> response =
                            client.send(request, HttpResponse.BodyHandlers.ofInputStream());
                    response.body().close();
                    int status = response.statusCode();
                    last = "last answer: status " + status;
                    return statuses.contains(status);
                } catch (HttpTimeoutException e) {
                    if (timeout.compareTo(REQUEST_TIMEOUT) >= 0 || last.equals(NO_ANSWER)) {
                        last = "last attempt: " + e;
                    }
                    return false;
                } catch (IOException e) {
                    last = "last attempt: " + e;
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IsolatedException("Interrupted while asking " + uri, e);
                }
            }

            @Override
            public String state() {
                return "GET " + uri + " (port " + port + " in the environment) to answer " + statusText() + " (" + last
                        + ")";
            }
        };
    }

    private String statusText() {
        return statuses.size() == 1 ? "status " + statuses.iterator().next() : "one of the statuses " + statuses;
    }

    @Override
    public String toString() {
        return "GET " + (tls ? "https" : "http") + "://127.0.0.1:<mappedPort(" + port + ")>" + path + " to answer "
                + statusText();
    }

    /** Shared clients: each {@link HttpClient} keeps a selector thread, so a wait does not make one of its own. */
    private static final class Clients {
        static final HttpClient DEFAULT = builder().build();
        static final HttpClient INSECURE =
                builder().sslContext(trustingEverything()).build();

        private static HttpClient.Builder builder() {
            return HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(CONNECT_TIMEOUT)
                    .followRedirects(HttpClient.Redirect.NEVER)
                    .proxy(HttpClient.Builder.NO_PROXY);
        }

        private static SSLContext trustingEverything() {
            TrustManager trustAll = new X509ExtendedTrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {}

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {}

                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            };
            try {
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(null, new TrustManager[] {trustAll}, null);
                return context;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("This JVM cannot make a TLS context: " + e, e);
            }
        }
    }
}
