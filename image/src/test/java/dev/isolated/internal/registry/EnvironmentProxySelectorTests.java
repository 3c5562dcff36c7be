package dev.isolated.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("HTTPS_PROXY, HTTP_PROXY and NO_PROXY, read as Docker reads them")
class EnvironmentProxySelectorTests {

    private static EnvironmentProxySelector selector(Map<String, String> environment) {
        return EnvironmentProxySelector.from(environment::get, name -> null).orElseThrow();
    }

    private static String via(EnvironmentProxySelector selector, String url) {
        Proxy proxy = selector.select(URI.create(url)).get(0);
        if (proxy.type() == Proxy.Type.DIRECT) {
            return "direct";
        }
        InetSocketAddress address = (InetSocketAddress) proxy.address();
        return address.getHostString() + ":" + address.getPort();
    }

    @Test
    @DisplayName(
            "https goes through HTTPS_PROXY, http through HTTP_PROXY; uppercase wins over lowercase; port 80 by default")
    void schemes() {
        EnvironmentProxySelector selector = selector(Map.of(
                "HTTPS_PROXY",
                "http://proxy.example:3128",
                "https_proxy",
                "http://other.example:1",
                "http_proxy",
                "plain.example"));
        assertThat(via(selector, "https://ghcr.io/v2/")).isEqualTo("proxy.example:3128");
        assertThat(via(selector, "http://registry.example:5000/v2/")).isEqualTo("plain.example:80");
        assertThat(via(selector(Map.of("https_proxy", "proxy.example:8080")), "https://ghcr.io/v2/"))
                .isEqualTo("proxy.example:8080");
        assertThat(via(selector(Map.of("HTTPS_PROXY", "proxy.example:8080")), "http://registry.example/v2/"))
                .isEqualTo("direct");
    }

    @Test
    @DisplayName("localhost and loopback addresses are never proxied")
    void loopback() {
        EnvironmentProxySelector selector =
                selector(Map.of("HTTPS_PROXY", "proxy.example:3128", "HTTP_PROXY", "proxy.example:3128"));
        for (String url : List.of(
                "http://127.0.0.1:5000/v2/",
                "http://127.3.4.5/v2/",
                "https://localhost/v2/",
                "https://[::1]:5000/v2/",
                "https://registry.localhost/v2/")) {
            assertThat(via(selector, url)).as(url).isEqualTo("direct");
        }
        assertThat(via(selector, "http://10.0.0.1:5000/v2/")).isEqualTo("proxy.example:3128");
    }

    @Test
    @DisplayName("NO_PROXY: domains with their subdomains, .domain for subdomains only, IPs, CIDR blocks, ports, and *")
    void noProxy() {
        EnvironmentProxySelector selector = selector(
                Map.of(
                        "HTTPS_PROXY",
                        "proxy.example:3128",
                        "NO_PROXY",
                        " corp.example, .internal.example,*.star.example, 10.1.2.3, 192.168.0.0/16, registry.example:5000, [fd00::1]"));
        assertThat(via(selector, "https://corp.example/")).isEqualTo("direct");
        assertThat(via(selector, "https://a.corp.example/")).isEqualTo("direct");
        assertThat(via(selector, "https://notcorp.example/")).isEqualTo("proxy.example:3128");
        assertThat(via(selector, "https://internal.example/")).isEqualTo("proxy.example:3128");
        assertThat(via(selector, "https://x.internal.example/")).isEqualTo("direct");
        assertThat(via(selector, "https://x.star.example/")).isEqualTo("direct");
        assertThat(via(selector, "https://10.1.2.3/")).isEqualTo("direct");
        assertThat(via(selector, "https://10.1.2.4/")).isEqualTo("proxy.example:3128");
        assertThat(via(selector, "https://192.168.77.1:8443/")).isEqualTo("direct");
        assertThat(via(selector, "https://registry.example:5000/")).isEqualTo("direct");
        assertThat(via(selector, "https://registry.example/"))
                .as("port 443 is not 5000")
                .isEqualTo("proxy.example:3128");
        assertThat(via(selector, "https://[fd00::1]/")).isEqualTo("direct");
        assertThat(via(selector(Map.of("HTTPS_PROXY", "proxy.example:3128", "no_proxy", "*")), "https://ghcr.io/"))
                .isEqualTo("direct");
    }

    @Test
    @DisplayName("a JVM proxy property, or no proxy variable, leaves the JVM's proxy configuration in charge")
    void jvmPropertiesWin() {
        Map<String, String> environment = Map.of("HTTPS_PROXY", "proxy.example:3128");
        for (String property : List.of("https.proxyHost", "http.proxyHost", "socksProxyHost")) {
            assertThat(EnvironmentProxySelector.from(
                            environment::get, name -> name.equals(property) ? "jvm.example" : null))
                    .as(property)
                    .isEmpty();
        }
        assertThat(EnvironmentProxySelector.from(
                        environment::get, name -> name.equals("java.net.useSystemProxies") ? "true" : null))
                .isEmpty();
        assertThat(EnvironmentProxySelector.from(Map.of("NO_PROXY", "x")::get, name -> null))
                .isEmpty();
    }

    @Test
    @DisplayName("a proxy that is not http://host[:port] is refused naming the variable")
    void invalid() {
        assertThatThrownBy(() -> selector(Map.of("HTTPS_PROXY", "socks5://proxy.example:1080")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "HTTPS_PROXY=socks5://proxy.example:1080 is not a proxy Isolated can use: the JDK's HTTP client "
                                + "reaches a proxy over plain http only (write http://host:port); or set -Dhttps.proxyHost and "
                                + "-Dhttps.proxyPort, which it uses instead");
        assertThatThrownBy(() -> selector(Map.of("http_proxy", "http://user:secret@proxy.example:3128")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "http_proxy=http://***@proxy.example:3128 is not a proxy Isolated can use: a user and password "
                                + "for the proxy are not supported; or set -Dhttps.proxyHost and -Dhttps.proxyPort, which it uses instead");
    }
}
