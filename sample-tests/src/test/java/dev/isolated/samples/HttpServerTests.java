package dev.isolated.samples;

import static dev.isolated.LinuxNamespace.IPC;
import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * What a Testcontainers user does with a container, without Docker: start a server inside, wait for its port,
 * talk to it from the test through a mapped port on the host's loopback. Every test's server binds port 8080 in
 * its own network namespace, so tests running in parallel never collide.
 */
@Isolated(
        rootfs = "busybox.tar",
        namespaces = {PID, MOUNT, UTS, IPC, NET})
class HttpServerTests {

    @Test
    void aServerInsideIsReachableFromTheTest(IsolatedEnvironment env) throws Exception {
        env.writeString("/www/index.html", "hello from the environment\n");
        IsolatedProcess httpd = env.start("httpd", "-f", "-p", "8080", "-h", "/www");
        env.awaitPort(8080);

        HttpResponse<String> response = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.mappedPort(8080) + "/index.html"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("hello from the environment\n");
        assertThat(httpd.isAlive()).isTrue();
    }

    @Test
    void twoEnvironmentsServeOnTheSamePort(
            IsolatedEnvironment blue, @Isolated(namespaces = {PID, MOUNT, UTS, IPC, NET}) IsolatedEnvironment green)
            throws Exception {
        for (IsolatedEnvironment env : new IsolatedEnvironment[] {blue, green}) {
            env.writeString("/www/index.html", env.hostname() + "\n");
            env.start("httpd", "-f", "-p", "8080", "-h", "/www");
            env.awaitPort(8080);
        }

        assertThat(get(blue.mappedPort(8080))).isEqualTo(blue.hostname() + "\n");
        assertThat(get(green.mappedPort(8080))).isEqualTo(green.hostname() + "\n");
        assertThat(blue.hostname()).isNotEqualTo(green.hostname());
    }

    private static String get(int port) throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }
}
