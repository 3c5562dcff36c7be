package dev.isolated.samples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.IsolatedConfiguration;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedProcess;
import dev.isolated.testimages.DebianImages;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * A real service from a registry, as a Testcontainers user starts one with {@code new GenericContainer("redis:7")}:
 * a Debian image with redis-server, pulled by name, started with the image's own command, and talked to from the
 * test over a socket through a mapped port. No Docker, no redis client library.
 *
 * <p>In your project the image is in your registry (or on Docker Hub: {@code builder().image("redis:7")}, or
 * {@code @Isolated(image = "redis:7")}), and the test method below is all you write. Here the test first starts a
 * registry of its own on 127.0.0.1, on a free port, holding Debian bookworm + redis-server as two layers (the rootfs
 * {@code .ci/install-deps} builds with debootstrap; see {@link DebianImages}). A registry without TLS must be listed
 * in {@code isolated.registry.insecure}; the builder reads it when it pulls, so a system property set before works
 * (in a build with a fixed registry: {@code -Disolated.registry.insecure=127.0.0.1:5000}, or a line in
 * {@code src/test/resources/junit-platform.properties}).
 */
@ResourceLock(IsolatedConfiguration.REGISTRY_INSECURE) // the registry's address is a system property while it is used
class RedisFromARegistryTests {

    private static DebianImages registry;

    @BeforeAll
    static void startARegistryWithTheImage() throws Exception {
        registry = DebianImages.start(DebianImages.REDIS);
        System.setProperty(IsolatedConfiguration.REGISTRY_INSECURE, registry.host());
    }

    @AfterAll
    static void stopTheRegistry() {
        System.clearProperty(IsolatedConfiguration.REGISTRY_INSECURE);
        if (registry != null) {
            registry.close();
        }
    }

    @Test
    void redisAnswersTheTestThroughAMappedPort() throws Exception {
        String image = registry.name(DebianImages.REDIS); // 127.0.0.1:<port>/redis:7-bookworm
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().image(image).start()) {
            // The image's Entrypoint + Cmd: redis-server --port 6379 ..., as the image's User (redis).
            IsolatedProcess redis = env.start(env.imageCommand());
            env.awaitPort(6379);

            try (Socket socket = new Socket("127.0.0.1", env.mappedPort(6379))) {
                socket.setSoTimeout(10_000); // a reply that never comes fails the test instead of hanging it
                Resp resp = new Resp(socket);
                assertThat(resp.call("PING")).isEqualTo("+PONG");
                assertThat(resp.call("SET", "greeting", "hello from Debian")).isEqualTo("+OK");
                assertThat(resp.call("GET", "greeting")).isEqualTo("hello from Debian");
                assertThat(resp.call("INCR", "visits")).isEqualTo(":1");
                assertThat(resp.call("GET", "missing")).isNull();
            }
            // What the test stored is in the server inside: redis-cli, from the image, reads it there.
            assertThat(env.exec("redis-cli", "GET", "greeting").stdout()).isEqualTo("hello from Debian\n");
            assertThat(redis.isAlive()).isTrue();
        }
    }

    /** Just enough of redis' protocol (RESP 2): commands as arrays of bulk strings, one reply each. */
    private static final class Resp {
        private final OutputStream out;
        private final InputStream in;

        Resp(Socket socket) throws IOException {
            this.out = socket.getOutputStream();
            this.in = new BufferedInputStream(socket.getInputStream());
        }

        /** @return {@code +OK} for a status, {@code :1} for an integer, the value of a bulk string, null for none */
        String call(String... args) throws IOException {
            StringBuilder request = new StringBuilder("*").append(args.length).append("\r\n");
            for (String arg : args) {
                request.append('$')
                        .append(arg.getBytes(StandardCharsets.UTF_8).length)
                        .append("\r\n")
                        .append(arg)
                        .append("\r\n");
            }
            out.write(request.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            String line = line();
            if (line.startsWith("-")) {
                throw new AssertionError("redis answered " + args[0] + " with an error: " + line);
            }
            if (!line.startsWith("$")) {
                return line;
            }
            int length = Integer.parseInt(line.substring(1));
            if (length < 0) {
                return null;
            }
            String value = new String(in.readNBytes(length), StandardCharsets.UTF_8);
            line(); // the CRLF after the value
            return value;
        }

        private String line() throws IOException {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (int b = in.read(); b != '\n'; b = in.read()) {
                if (b < 0) {
                    throw new IOException("redis closed the connection");
                }
                if (b != '\r') {
                    bytes.write(b);
                }
            }
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }
}
