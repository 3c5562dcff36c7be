package dev.isolated.samples;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An application in the environment calls a mock server the test runs in the JVM on 127.0.0.1, through
 * {@code host.isolated.internal}: the environment keeps its own network, and only the exposed port of the host
 * is reachable from it (like Testcontainers' {@code exposeHostPorts}).
 */
@Isolated(rootfs = "busybox.tar")
class MockServerInTheJvmTests {
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private HttpServer mock;

    @BeforeEach
    void startMock() throws IOException {
        mock = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        mock.createContext("/prices", exchange -> {
            requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
            byte[] body = "{\"eur\": 42}\n".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        mock.start();
    }

    @AfterEach
    void stopMock() {
        mock.stop(0);
    }

    @Test
    void theApplicationCallsTheMock(IsolatedEnvironment env) {
        int port = mock.getAddress().getPort();
        env.exposeHostPort(port);
        // the "application": a script that fetches a price from the URL it is configured with
        env.writeString("/app/run.sh", "wget -qO- \"$PRICES_URL/prices?item=7\"\n");

        assertThat(env.exec(dev.isolated.Command.of("sh", "/app/run.sh")
                        .withEnv("PRICES_URL", "http://host.isolated.internal:" + port)))
                .succeeded()
                .stdout()
                .isEqualTo("{\"eur\": 42}\n");
        assertThat(requests).containsExactly("GET /prices?item=7");
    }
}
