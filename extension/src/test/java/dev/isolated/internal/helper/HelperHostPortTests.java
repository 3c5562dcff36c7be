package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ACK;
import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.FrameType.HOST_PORT;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** HOST-PORT (PROTOCOL.md): a server on the host's 127.0.0.1 reached from inside an environment. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve: HOST-PORT")
class HelperHostPortTests {
    private static final List<String> APPLETS = List.of("sh", "wget", "nc", "cat");
    private static final String NET_NS = "pid,mount,uts,ipc,net";

    @TempDir
    Path tmp;

    Path rootfs;
    HttpServer server;
    int port;

    @BeforeEach
    void setUp() throws IOException {
        rootfs = TestRootfs.busybox(tmp.resolve("rootfs"), APPLETS);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = "hello from the host\n".getBytes(UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        port = server.getAddress().getPort();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    @Test
    @DisplayName(
            "the reply names 127.213.0.1; wget inside reaches the host's server there; the same port again is a no-op")
    void reachedFromInside() throws Exception {
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            c.create(1, "ns=" + NET_NS);
            Frame ack = c.client.request(HOST_PORT, 2, "env=1", "port=" + port);
            assertThat(ack).hasType(ACK);
            assertThat(ack.fields()).containsEntry("address", "127.213.0.1");
            assertThat(c.client.request(HOST_PORT, 3, "env=1", "port=" + port)).hasType(ACK);

            assertThat(c.run(4, 1, "wget -qO- http://127.213.0.1:" + port + "/"))
                    .isEqualTo("hello from the host\n");
            assertThat(c.run(
                            5,
                            1,
                            "if nc -w 2 127.0.0.1 " + port + " </dev/null 2>&1; then echo reached; "
                                    + "else echo failed; fi"))
                    .as("the env's own 127.0.0.1")
                    .contains("Connection refused")
                    .endsWith("failed\n");
        }
    }

    @Test
    @DisplayName("without a network namespace the host's ports are the env's: address=127.0.0.1, nothing opened")
    void hostNetwork() throws Exception {
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            c.create(1, "ns=pid,mount,uts,ipc");
            Frame ack = c.client.request(HOST_PORT, 2, "env=1", "port=" + port);
            assertThat(ack).hasType(ACK);
            assertThat(ack.fields()).containsEntry("address", "127.0.0.1");
        }
    }

    @Test
    @DisplayName("a bad port is an ERROR with stage forward; an unknown env one with stage request")
    void badRequests() throws Exception {
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            c.create(1, "ns=" + NET_NS);
            for (String bad : List.of("port=0", "port=65536", "port=http", "port=")) {
                Frame error = c.client.request(HOST_PORT, 2, "env=1", bad);
                assertThat(error).as(bad).hasType(ERROR);
                assertThat(error.fields()).containsEntry("stage", "forward").containsEntry("errname", "EINVAL");
            }
            Frame unknown = c.client.request(HOST_PORT, 4, "env=99", "port=80");
            assertThat(unknown)
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "request")
                    .containsEntry("errname", "ESRCH");
        }
    }
}
