package dev.isolated.internal.registry;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The proxies of the {@code HTTPS_PROXY}, {@code HTTP_PROXY} and {@code NO_PROXY} environment variables (each
 * also lowercase; the uppercase one wins), read as Docker and skopeo (Go's {@code httpproxy}) read them, used
 * only when no JVM proxy property ({@code https.proxyHost}, {@code http.proxyHost}, {@code socksProxyHost},
 * {@code java.net.useSystemProxies=true}) is set:
 * <ul>
 * <li>an {@code https} URL goes through {@code HTTPS_PROXY} (a {@code CONNECT} tunnel), an {@code http} URL through
 *     {@code HTTP_PROXY}; a variable unset or empty means direct;</li>
 * <li>a proxy is {@code http://host[:port]} or {@code host[:port]} (port 80 by default); other schemes and user
 *     information are refused, as the JDK's client can use neither;</li>
 * <li>{@code localhost} and loopback addresses are never proxied;</li>
 * <li>{@code NO_PROXY} is a comma-separated list: {@code *} (nothing is proxied), a domain ({@code example.com}
 *     matches it and its subdomains, {@code .example.com} and {@code *.example.com} its subdomains only), an IP
 *     address or a CIDR block ({@code 10.0.0.0/8}), each optionally with {@code :port} to match that port only.</li>
 * </ul>
 */
final class EnvironmentProxySelector extends ProxySelector {

    /** The JVM properties that mean the JVM's own proxy configuration is used instead. */
    static final List<String> JVM_PROPERTIES = List.of("https.proxyHost", "http.proxyHost", "socksProxyHost");

    private final Endpoint https;
    private final Endpoint http;
    private final List<String> noProxy;

    private record Endpoint(String host, int port) {}

    private EnvironmentProxySelector(Endpoint https, Endpoint http, List<String> noProxy) {
        this.https = https;
        this.http = http;
        this.noProxy = noProxy;
    }

    /**
     * The selector of the environment's proxy variables, or empty when a JVM proxy property is set or no proxy
     * variable is.
     *
     * @throws IllegalArgumentException naming the variable whose value is not a proxy Isolated can use
     */
    static Optional<EnvironmentProxySelector> from(
            UnaryOperator<String> environment, UnaryOperator<String> properties) {
        for (String property : JVM_PROPERTIES) {
            String value = properties.apply(property);
            if (value != null && !value.isBlank()) {
                return Optional.empty();
            }
        }
        if ("true".equalsIgnoreCase(properties.apply("java.net.useSystemProxies"))) {
            return Optional.empty();
        }
        Endpoint https = endpoint(environment, "HTTPS_PROXY");
        Endpoint http = endpoint(environment, "HTTP_PROXY");
        if (https == null && http == null) {
            return Optional.empty();
        }
        List<String> noProxy = new ArrayList<>();
        String list = variable(environment, "NO_PROXY");
        if (list != null) {
            for (String entry : list.split(",")) {
                String trimmed = entry.trim().toLowerCase(Locale.ROOT);
                if (!trimmed.isEmpty()) {
                    noProxy.add(trimmed);
                }
            }
        }
        return Optional.of(new EnvironmentProxySelector(https, http, List.copyOf(noProxy)));
    }

    /** The uppercase variable, else the lowercase one; {@code null} when both are unset or empty. */
    private static String variable(UnaryOperator<String> environment, String name) {
        String value = environment.apply(name);
        if (value == null || value.isBlank()) {
            value = environment.apply(name.toLowerCase(Locale.ROOT));
        }
        return value == null || value.isBlank() ? null : value.trim();
    }

    private static Endpoint endpoint(UnaryOperator<String> environment, String name) {
        String value = variable(environment, name);
        if (value == null) {
            return null;
        }
        String variable =
                environment.apply(name) != null && !environment.apply(name).isBlank()
                        ? name
                        : name.toLowerCase(Locale.ROOT);
        URI uri;
        try {
            uri = new URI(value.contains("://") ? value : "http://" + value);
        } catch (java.net.URISyntaxException e) {
            throw invalid(variable, value, "it is not a URL");
        }
        if (!"http".equalsIgnoreCase(uri.getScheme())) {
            throw invalid(
                    variable,
                    value,
                    "the JDK's HTTP client reaches a proxy over plain http only (write http://host:port)");
        }
        if (uri.getRawUserInfo() != null) {
            throw invalid(
                    variable,
                    "http://***@" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort()),
                    "a user and password for the proxy are not supported");
        }
        if (uri.getHost() == null
                || (uri.getRawPath() != null
                        && !uri.getRawPath().isEmpty()
                        && !uri.getRawPath().equals("/"))) {
            throw invalid(variable, value, "write http://host:port");
        }
        return new Endpoint(uri.getHost(), uri.getPort() < 0 ? 80 : uri.getPort());
    }

    private static IllegalArgumentException invalid(String variable, String value, String why) {
        return new IllegalArgumentException(variable + "=" + value + " is not a proxy Isolated can use: " + why
                + "; or set -Dhttps.proxyHost and -Dhttps.proxyPort, which it uses instead");
    }

    @Override
    public List<Proxy> select(URI uri) {
        Endpoint proxy = "https".equalsIgnoreCase(uri.getScheme())
                ? https
                : "http".equalsIgnoreCase(uri.getScheme()) ? http : null;
        if (proxy == null || uri.getHost() == null || bypassed(uri.getHost(), port(uri))) {
            return List.of(Proxy.NO_PROXY);
        }
        return List.of(new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(proxy.host(), proxy.port())));
    }

    /** Whether {@code host} (a name or an address literal) is reached directly. */
    boolean bypassed(String host, int port) {
        String name = host.toLowerCase(Locale.ROOT);
        if (name.startsWith("[") && name.endsWith("]")) {
            name = name.substring(1, name.length() - 1);
        }
        if (name.equals("localhost") || name.endsWith(".localhost")) {
            return true;
        }
        InetAddress address = literal(name);
        if (address != null && address.isLoopbackAddress()) {
            return true;
        }
        for (String entry : noProxy) {
            if (entry.equals("*")) {
                return true;
            }
            String pattern = entry;
            int entryPort = -1;
            int colon = pattern.lastIndexOf(':');
            boolean bracketed = pattern.startsWith("[");
            if (colon > 0 && (bracketed ? pattern.indexOf(']') < colon : pattern.indexOf(':') == colon)) {
                try {
                    entryPort = Integer.parseInt(pattern.substring(colon + 1));
                    pattern = pattern.substring(0, colon);
                } catch (NumberFormatException e) {
                    continue; // not an entry that can match
                }
            }
            if (pattern.startsWith("[") && pattern.endsWith("]")) {
                pattern = pattern.substring(1, pattern.length() - 1);
            }
            if (entryPort >= 0 && entryPort != port) {
                continue;
            }
            if (matches(pattern, name, address)) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(String pattern, String name, InetAddress address) {
        int slash = pattern.indexOf('/');
        if (slash > 0) {
            InetAddress network = literal(pattern.substring(0, slash));
            if (network == null || address == null || network.getAddress().length != address.getAddress().length) {
                return false;
            }
            int bits;
            try {
                bits = Integer.parseInt(pattern.substring(slash + 1));
            } catch (NumberFormatException e) {
                return false;
            }
            int total = address.getAddress().length * 8;
            if (bits < 0 || bits > total) {
                return false;
            }
            BigInteger mask = bits == 0
                    ? BigInteger.ZERO
                    : BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE).shiftLeft(total - bits);
            return new BigInteger(1, network.getAddress())
                    .and(mask)
                    .equals(new BigInteger(1, address.getAddress()).and(mask));
        }
        InetAddress literal = literal(pattern);
        if (literal != null) {
            return literal.equals(address);
        }
        if (pattern.startsWith("*.")) {
            pattern = pattern.substring(1);
        }
        if (pattern.startsWith(".")) {
            return name.endsWith(pattern);
        }
        return name.equals(pattern) || name.endsWith("." + pattern);
    }

    /** The address an IP literal names (no name is ever resolved), or {@code null}. */
    private static InetAddress literal(String text) {
        boolean ipv4 = text.matches("\\d{1,3}(\\.\\d{1,3}){3}")
                && java.util.Arrays.stream(text.split("\\.")).allMatch(octet -> Integer.parseInt(octet) <= 255);
        boolean ipv6 = text.contains(":") && text.matches("[0-9a-f:.]+");
        if (!ipv4 && !ipv6) {
            return null;
        }
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    @Override
    public void connectFailed(URI uri, SocketAddress address, IOException e) {
        // nothing to learn: the request fails and says why
    }

    /** {@code https through host:port, http through host:port, NO_PROXY a,b}, for the log. */
    @Override
    public String toString() {
        return "https through " + (https == null ? "none" : https.host() + ":" + https.port()) + ", http through "
                + (http == null ? "none" : http.host() + ":" + http.port()) + ", NO_PROXY " + String.join(",", noProxy);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof EnvironmentProxySelector that
                && Objects.equals(https, that.https)
                && Objects.equals(http, that.http)
                && noProxy.equals(that.noProxy);
    }

    @Override
    public int hashCode() {
        return Objects.hash(https, http, noProxy);
    }
}
