package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.isolated.internal.image.TestImages;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;

@DisplayName("The image's own command as the environment's service, and waits until it is ready")
class ServiceWaitTests {
    /** A fake service: says "ready" twice, 0.3 s apart, then serves HTTP on 8080 (index.html says "ok"). */
    static final String SERVICE = "mkdir -p /www && echo ok > /www/index.html && sleep 0.2 && echo ready && sleep 0.3"
            + " && echo ready && exec httpd -f -p 8080 -h /www";

    private static final String WGET = "wget -q -O /dev/null http://127.0.0.1:8080/";
    /** A HEALTHCHECK that passes once the service serves HTTP; failures in its first 10 s do not count. */
    private static final String HEALTHCHECK =
            "{\"Test\":[\"CMD-SHELL\",\"" + WGET + "\"],\"Interval\":100000000," + "\"StartPeriod\":10000000000}";

    @TempDir
    Path dir;

    /** A docker save archive of busybox whose config is {@code runConfig}. */
    static Path image(Path dir, String runConfig) throws Exception {
        byte[] busybox;
        try (InputStream in = ServiceWaitTests.class.getResourceAsStream("/busybox.tar")) {
            busybox = in.readAllBytes();
        }
        return Files.write(
                dir.resolve("service-" + Integer.toHexString(runConfig.hashCode()) + ".tar"),
                TestImages.dockerSave(runConfig, busybox));
    }

    private static String config(String script, String healthcheck) {
        return "{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"" + script + "\"]"
                + (healthcheck.isEmpty() ? "" : ",\"Healthcheck\":" + healthcheck) + "}";
    }

    private IsolatedEnvironment env(String script) throws Exception {
        return env(script, "", Duration.ofSeconds(60));
    }

    private IsolatedEnvironment env(String script, String healthcheck, Duration startupTimeout) throws Exception {
        return IsolatedEnvironment.builder()
                .rootfs(image(dir, config(script, healthcheck)))
                .hostname("svc")
                .startupTimeout(startupTimeout)
                .start();
    }

    private static String get(IsolatedEnvironment env, String path) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.mappedPort(8080) + path))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        return response.statusCode() + " " + response.body();
    }

    private static long lines(String output, String line) {
        return output.lines().filter(line::equals).count();
    }

    @Test
    @DisplayName("startImageCommand(wait) starts Entrypoint + Cmd and returns once a log line was seen N times")
    void logLineTwice() throws Exception {
        try (IsolatedEnvironment env = env(SERVICE)) {
            IsolatedProcess service = env.startImageCommand(Wait.forLogLine("^ready$", 2));

            assertThat(lines(service.stdout(), "ready")).isEqualTo(2);
            assertThat(service.command()).containsExactly("/bin/sh", "-c", SERVICE);
            assertThat(env.service()).isSameAs(service);
        }
    }

    @Test
    @DisplayName("forLogLine(regex) with its default of once returns at the first matching line")
    void logLineOnce() throws Exception {
        try (IsolatedEnvironment env = env("echo booting; echo listening on 7000; exec sleep 1000")) {
            IsolatedProcess service = env.startImageCommand(Wait.forLogLine("listening on \\d+"));

            assertThat(service.isAlive()).isTrue();
            assertThat(service.stdout()).contains("listening on 7000");
        }
    }

    @Test
    @DisplayName(
            "forLogLine counts the lines printed before the wait began, on stdout and stderr, and an unterminated last line")
    void logLineAcrossStreamsAndUnterminated() throws Exception {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            IsolatedProcess service = env.start(
                    "sh",
                    "-c",
                    "echo ready; echo ready >&2; echo go > /tmp/printed; "
                            + "sleep 0.3; printf 'and ready'; exec sleep 1000");
            env.awaitFile("/tmp/printed"); // the first two lines are out before the wait begins

            Wait.forLogLine("ready", 3).waitUntilReady(env, service);

            assertThat(service.stdout()).isEqualTo("ready\nand ready");
            assertThat(service.stderr()).isEqualTo("ready\n");
        }
    }

    @Test
    @DisplayName("forLogLine is met by lines that arrive in pieces, and not by a line split across stdout and stderr")
    void logLineInPieces() throws Exception {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .startupTimeout(Duration.ofSeconds(2))
                .start()) {
            IsolatedProcess service = env.start(
                    "sh",
                    "-c",
                    "printf 'rea' >&2; printf 'dy\n'; printf 're'; sleep 0.2; " + "printf 'ady\n'; exec sleep 1000");

            Wait.forLogLine("^ready$").waitUntilReady(env, service);
            assertThatThrownBy(() -> Wait.forLogLine("^ready$", 2).waitUntilReady(env, service))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining("(seen 1)");
        }
    }

    @Test
    @DisplayName("forPort waits until the service listens in the environment's network namespace")
    void port() throws Exception {
        try (IsolatedEnvironment env = env(SERVICE)) {
            env.startImageCommand(Wait.forPort(8080));

            assertThat(env.exec("sh", "-c", WGET)).succeeded();
        }
    }

    @Test
    @DisplayName("forHttp asks through mappedPort until the status is the one awaited (200 by default, or others)")
    void http() throws Exception {
        try (IsolatedEnvironment env = env(SERVICE)) {
            env.startImageCommand(Wait.forHttp(8080, "/"));

            assertThat(get(env, "/")).isEqualTo("200 ok\n");
            Wait.forHttp(8080, "/missing").forStatus(404).waitUntilReady(env, env.service());
        }
    }

    @Test
    @DisplayName("a status other than the one awaited times out, and the message says the last answer")
    void httpWrongStatus() throws Exception {
        try (IsolatedEnvironment env = env(SERVICE, "", Duration.ofMillis(1500))) {
            assertThatThrownBy(() -> env.startImageCommand(Wait.forHttp(8080, "/missing")))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining(
                            "was not ready within 1500 ms (the startup timeout): still waiting for GET http://127.0.0.1:")
                    .hasMessageContaining("/missing (port 8080 in the environment) to answer status 200 (last ")
                    .hasMessageMatching("(?s).*\\(last (answer: status 404|attempt: .*)\\).*");
        }
    }

    @Test
    @DisplayName(
            "usingTls asks over HTTPS trusting the JVM's trust store; allowInsecure accepts a self-signed certificate")
    void https() throws Exception {
        HttpsServer server = selfSignedHttpsServer();
        int port = server.getAddress().getPort();
        // without NET the environment shares the host's network, and mappedPort(port) is port: the JVM's server
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(image(dir, config("exec sleep 1000", "")))
                .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT)
                .start()) {
            IsolatedProcess service = env.startImageCommand();

            Wait.forHttp(port, "/").allowInsecure().forStatus(204).waitUntilReady(env, service);
            assertThatThrownBy(() -> Wait.forHttp(port, "/")
                            .usingTls()
                            .forStatus(204)
                            .waitUntilReady(env, service, Duration.ofSeconds(3)))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining(" was not ready within 3000 ms (the timeout given): still waiting for GET "
                            + "https://127.0.0.1:" + port + "/ (port " + port
                            + " in the environment) to answer status 204 (last attempt: javax.net.ssl.SSL");
        } finally {
            server.stop(0);
        }
    }

    @Test
    @DisplayName("an HTTP wait goes by the status line: a body that never ends neither delays a 200 nor holds a 503 "
            + "past the wait's timeout")
    @org.junit.jupiter.api.Timeout(60) // without the fix each wait below hangs on the endless body
    void httpEndlessBody() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger status = new AtomicInteger(503);
        HttpServer server = loopbackServer(exchange -> {
            exchange.sendResponseHeaders(status.get(), 0); // chunked
            exchange.getResponseBody().write("the start of a stream".getBytes());
            exchange.getResponseBody().flush();
            hold(release); // and no more, until the test ends
            exchange.close();
        });
        int port = server.getAddress().getPort();
        try (IsolatedEnvironment env = onHostNetwork()) {
            IsolatedProcess service = env.startImageCommand();

            assertThatThrownBy(() -> Wait.forHttp(port, "/").waitUntilReady(env, service, Duration.ofSeconds(2)))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining("(last answer: status 503)");
            status.set(200);
            Wait.forHttp(port, "/").waitUntilReady(env, service, Duration.ofSeconds(10));
        } finally {
            release.countDown();
            server.stop(0);
        }
    }

    @Test
    @DisplayName("a timeout names the last answer, not the attempt that the timeout itself cut short")
    void httpTimeoutKeepsTheLastAnswer() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger requests = new AtomicInteger();
        HttpServer server = loopbackServer(exchange -> {
            if (requests.incrementAndGet() > 1) {
                hold(release); // every later request hangs until the test ends
            }
            exchange.sendResponseHeaders(503, -1);
            exchange.close();
        });
        int port = server.getAddress().getPort();
        try (IsolatedEnvironment env = onHostNetwork()) {
            IsolatedProcess service = env.startImageCommand();

            assertThatThrownBy(() -> Wait.forHttp(port, "/").waitUntilReady(env, service, Duration.ofSeconds(2)))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining("/ (port " + port + " in the environment) to answer status 200 "
                            + "(last answer: status 503)");
            assertThat(requests).hasValueGreaterThan(1);
        } finally {
            release.countDown();
            server.stop(0);
        }
    }

    /** A started HTTP server of the JVM on 127.0.0.1, a thread per request. */
    private static HttpServer loopbackServer(com.sun.net.httpserver.HttpHandler handler) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", handler);
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
        return server;
    }

    private static void hold(CountDownLatch release) {
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** An environment on the host's network (its ports are the host's), whose image command sleeps. */
    private IsolatedEnvironment onHostNetwork() throws Exception {
        return IsolatedEnvironment.builder()
                .rootfs(image(dir, config("exec sleep 1000", "")))
                .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT)
                .start();
    }

    @Test
    @DisplayName("forPort and forHttp refuse a port that is not 1..65535 naming it, as mappedPort does")
    void waitsRefuseBadPorts() {
        for (int port : new int[] {0, -1, 65536}) {
            assertThatThrownBy(() -> Wait.forPort(port))
                    .isExactlyInstanceOf(IllegalArgumentException.class)
                    .hasMessage("forPort(" + port + "): a TCP port is 1..65535");
            assertThatThrownBy(() -> Wait.forHttp(port, "/"))
                    .isExactlyInstanceOf(IllegalArgumentException.class)
                    .hasMessage("forHttp(" + port + ", ...): a TCP port is 1..65535");
        }
    }

    @Test
    @DisplayName("an HTTP wait on a port nothing listens on names the closed connection as its last attempt")
    void httpNothingListens() throws Exception {
        try (IsolatedEnvironment env = env("exec sleep 1000")) {
            IsolatedProcess service = env.startImageCommand();
            assertThatThrownBy(() -> Wait.forHttp(8080, "/health").waitUntilReady(env, service, Duration.ofSeconds(2)))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining(" was not ready within 2000 ms (the timeout given): still waiting for GET "
                            + "http://127.0.0.1:")
                    .hasMessageContaining("/health (port 8080 in the environment) to answer status 200 (last attempt: "
                            + "java.io.IOException: HTTP/1.1 header parser received no bytes)\n");
        }
    }

    /** An HTTPS server on the JVM's 127.0.0.1 that answers 204, with a self-signed certificate for another name. */
    private HttpsServer selfSignedHttpsServer() throws Exception {
        Path keystore = dir.resolve("server.p12");
        char[] password = "changeit".toCharArray();
        Process keytool = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "keytool")
                                .toString(),
                        "-genkeypair",
                        "-keyalg",
                        "RSA",
                        "-keysize",
                        "2048",
                        "-alias",
                        "server",
                        "-dname",
                        "CN=not-this-host",
                        "-validity",
                        "2",
                        "-storetype",
                        "PKCS12",
                        "-keystore",
                        keystore.toString(),
                        "-storepass",
                        "changeit")
                .redirectErrorStream(true)
                .start();
        String keytoolOutput = new String(keytool.getInputStream().readAllBytes());
        assertThat(keytool.waitFor()).as(keytoolOutput).isZero();
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            store.load(in, password);
        }
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, password);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(keys.getKeyManagers(), null, null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
        return server;
    }

    @Test
    @DisplayName(
            "forHealthcheck runs the image's HEALTHCHECK (CMD-SHELL) inside until it passes; failures in StartPeriod do not count")
    void healthcheckPasses() throws Exception {
        try (IsolatedEnvironment env = env(SERVICE, HEALTHCHECK, Duration.ofSeconds(60))) {
            assertThat(env.imageConfig().healthcheck().interval()).isEqualTo(Duration.ofMillis(100));

            env.startImageCommand(Wait.forHealthcheck());

            assertThat(env.exec("sh", "-c", WGET)).succeeded();
        }
    }

    @Test
    @DisplayName("a HEALTHCHECK that keeps failing makes the service unhealthy after Retries failures, at once")
    void healthcheckUnhealthy() throws Exception {
        try (IsolatedEnvironment env = env(
                "exec sleep 1000",
                "{\"Test\":[\"CMD\",\"sh\",\"-c\",\"echo not yet; exit 1\"]," + "\"Interval\":100000000,\"Retries\":2}",
                Duration.ofSeconds(60))) {
            assertThatThrownBy(() -> env.startImageCommand(Wait.forHealthcheck()))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining("(host pid " + env.service().hostPid() + ") is unhealthy after ")
                    .hasMessageMatching(
                            "(?s).* ms: its HEALTHCHECK \\[CMD, sh, -c, echo not yet; exit 1\\] failed [2-9] times in a "
                                    + "row \\(Retries 2, StartPeriod 0 ms, Interval 100 ms, Timeout 30000 ms\\); the last check exited "
                                    + "with 1: \"not yet\"\nstdout: \\(empty\\)\nstderr: \\(empty\\)\n");
            assertThat(env.service().isAlive())
                    .as("the service is left running")
                    .isTrue();
        }
    }

    @Test
    @DisplayName("with Docker's 30 s Interval a failing HEALTHCHECK runs every second until the startup timeout")
    void healthcheckTimesOut() throws Exception {
        try (IsolatedEnvironment env = env(
                "echo up; exec sleep 1000",
                "{\"Test\":[\"CMD-SHELL\",\"echo not yet; exit 1\"]}",
                Duration.ofMillis(1500))) {
            assertThatThrownBy(() -> env.startImageCommand(Wait.forHealthcheck()))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining("was not ready within 1500 ms (the startup timeout): still waiting for the "
                            + "image's HEALTHCHECK [CMD-SHELL, echo not yet; exit 1] (Retries 3, StartPeriod 0 ms, Interval "
                            + "30000 ms, Timeout 30000 ms) to pass (")
                    .hasMessageMatching(
                            "(?s).* to pass \\([2-9] checks failed; the last exited with 1: \"not yet\"\\)\n.*")
                    .hasMessageEndingWith("stdout:\n  up\nstderr: (empty)\n");
        }
    }

    @Test
    @DisplayName(
            "forHealthcheck on an image without HEALTHCHECK, or one that switches it off, fails at once, saying so")
    void noHealthcheck() throws Exception {
        try (IsolatedEnvironment env = env("exec sleep 1000")) {
            IsolatedProcess service = env.startImageCommand();
            assertThatThrownBy(() -> Wait.forHealthcheck().waitUntilReady(env, service))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage(
                            "Wait.forHealthcheck(): the image of this environment declares no HEALTHCHECK; wait for "
                                    + "a log line, a port or an HTTP endpoint instead");
        }
        try (IsolatedEnvironment env = env("exec sleep 1000", "{\"Test\":[\"NONE\"]}", Duration.ofSeconds(60))) {
            IsolatedProcess service = env.startImageCommand();
            assertThatThrownBy(() -> Wait.forHealthcheck().waitUntilReady(env, service))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("Wait.forHealthcheck(): the image of this environment switches its HEALTHCHECK off "
                            + "(Test [NONE]); wait for a log line, a port or an HTTP endpoint instead");
        }
    }

    @Test
    @DisplayName("a check still running at its Timeout is stopped and fails: 'the last check timed out: \"<output>\"'")
    void healthcheckTimeout() throws Exception {
        try (IsolatedEnvironment env = env(
                "exec sleep 1000",
                "{\"Test\":[\"CMD-SHELL\",\"echo checking; sleep 100\"],\"Interval\":100000000,"
                        + "\"Timeout\":300000000,\"Retries\":1}",
                Duration.ofSeconds(30))) {
            assertThatThrownBy(() -> env.startImageCommand(Wait.forHealthcheck()))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining(") is unhealthy after ")
                    .hasMessageContaining(
                            " ms: its HEALTHCHECK [CMD-SHELL, echo checking; sleep 100] failed 1 times in "
                                    + "a row (Retries 1, StartPeriod 0 ms, Interval 100 ms, Timeout 300 ms); the last check "
                                    + "timed out: \"checking\"\n");
        }
    }

    @Test
    @DisplayName("until(description, check) waits for a check of the test's own; one that throws is not ready yet")
    void until() throws Exception {
        try (IsolatedEnvironment env =
                env("sleep 0.2; echo go > /tmp/state; exec sleep 1000", "", Duration.ofMillis(1500))) {
            env.startImageCommand(Wait.until(
                    "/tmp/state to say go", e -> e.readString("/tmp/state").equals("go\n")));

            assertThatThrownBy(() -> Wait.until(
                                    "/tmp/state to say stop",
                                    e -> e.readString("/tmp/state").equals("stop"))
                            .waitUntilReady(env, env.service()))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining("still waiting for /tmp/state to say stop (the last check returned false)\n");
            assertThatThrownBy(() -> Wait.until(
                                    "/tmp/never to exist",
                                    e -> !e.readString("/tmp/never").isEmpty())
                            .waitUntilReady(env, env.service()))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining("still waiting for /tmp/never to exist (the last check threw "
                            + "java.io.UncheckedIOException: Cannot read /tmp/never");
        }
    }

    @Test
    @DisplayName("until(description, check): a check whose assertion fails (an AssertionError) is not ready yet either")
    void untilWithAssertions() throws Exception {
        try (IsolatedEnvironment env =
                env("sleep 0.3; echo go > /tmp/state; exec sleep 1000", "", Duration.ofMillis(1500))) {
            env.startImageCommand(Wait.until("/tmp/state to say go", e -> {
                assertThat(e.exec("cat", "/tmp/state")).succeeded().stdout().isEqualTo("go\n");
                return true;
            }));

            assertThatThrownBy(() -> Wait.until("/tmp/state to say stop", e -> {
                                assertThat(e.readString("/tmp/state")).isEqualTo("stop\n");
                                return true;
                            })
                            .waitUntilReady(env, env.service()))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining("still waiting for /tmp/state to say stop (the last check threw "
                            + "org.opentest4j.AssertionFailedError: ");
        }
    }

    @Test
    @DisplayName("allOf waits for each in turn: the log line twice, the port, then HTTP")
    void combined() throws Exception {
        try (IsolatedEnvironment env = env(SERVICE)) {
            IsolatedProcess service = env.startImageCommand(
                    Wait.allOf(Wait.forLogLine("ready", 2), Wait.forPort(8080), Wait.forHttp(8080, "/")));

            assertThat(lines(service.stdout(), "ready")).isEqualTo(2);
            assertThat(get(env, "/")).isEqualTo("200 ok\n");
        }
    }

    @Test
    @DisplayName("allOf's timeout says which waits were met and which one was not")
    void combinedTimeout() throws Exception {
        try (IsolatedEnvironment env = env("echo ready; exec sleep 1000", "", Duration.ofMillis(800))) {
            assertThatThrownBy(() -> env.startImageCommand(
                            Wait.allOf(Wait.forLogLine("ready"), Wait.forPort(8080), Wait.forHttp(8080, "/"))))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining(
                            "was not ready within 800 ms (the startup timeout): still waiting for all of: "
                                    + "1. a line of its output matching /ready/: met; 2. TCP port 8080 to listen in the environment "
                                    + "(listening now: []): not yet; 3. GET http://127.0.0.1:<mappedPort(8080)>/ to answer status "
                                    + "200: not checked yet\n");
        }
    }

    @Test
    @DisplayName("a service that exits before it is ready fails the wait at once, naming its exit code and output")
    void exitsBeforeReady() throws Exception {
        try (IsolatedEnvironment env = env("echo starting; echo 'FATAL: no config' >&2; exit 3")) {
            assertThatThrownBy(() -> env.startImageCommand(Wait.forLogLine("ready")))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageStartingWith(
                            "Service [/bin/sh, -c, echo starting; echo 'FATAL: no config' >&2; exit 3] " + "(host pid ")
                    .hasMessageContaining(") exited with code 3 after ")
                    .hasMessageContaining(
                            " ms, before it was ready: still waiting for a line of its output matching /ready/ "
                                    + "(seen 0)\nstdout:\n  starting\nstderr:\n  FATAL: no config\n")
                    .satisfies(e -> assertThat(((ServiceNotReadyException) e).exitCode())
                            .hasValue(3));
        }
    }

    @Test
    @DisplayName("a timeout names the wait, the time and the last 20 lines of output")
    void timeoutMessage() throws Exception {
        try (IsolatedEnvironment env =
                env("for i in $(seq 1 30); do echo booting $i; done; exec sleep 1000", "", Duration.ofMillis(500))) {
            assertThatThrownBy(() -> env.startImageCommand(Wait.forLogLine("ready", 2)))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining(
                            " was not ready within 500 ms (the startup timeout): still waiting for a line of "
                                    + "its output matching /ready/ 2 times (seen 0)\nstdout (last 20 of 30 lines):\n  booting 11\n")
                    .hasMessageContaining("  booting 30\nstderr: (empty)\n")
                    .hasMessageNotContaining("booting 10\n")
                    .satisfies(e -> assertThat(((ServiceNotReadyException) e).exitCode())
                            .isEmpty());
        }
    }

    @Test
    @DisplayName("the service's output goes line by line to the logger dev.isolated.service, as [hostname] line")
    void outputIsLogged() throws Exception {
        List<String> logged = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(record.getLevel() + " " + record.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger logger = Logger.getLogger(IsolatedEnvironment.SERVICE_LOGGER);
        logger.addHandler(handler);
        try (IsolatedEnvironment env = env("echo to stdout; echo to stderr >&2; echo ready; exec sleep 1000")) {
            env.startImageCommand(Wait.forLogLine("ready"));

            Awaitility.await()
                    .untilAsserted(() -> assertThat(logged)
                            .contains("INFO [svc] to stdout", "INFO [svc] to stderr", "INFO [svc] ready"));
        } finally {
            logger.removeHandler(handler);
        }
    }

    @Test
    @DisplayName(
            "without a hostname given the log lines are labelled with the program's name; setHostname does not relabel them")
    void logLabelWithoutHostname() throws Exception {
        List<String> logged = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(record.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger logger = Logger.getLogger(IsolatedEnvironment.SERVICE_LOGGER);
        logger.addHandler(handler);
        try (IsolatedEnvironment unnamed = IsolatedEnvironment.builder()
                        .rootfs(image(dir, config("echo unnamed; exec sleep 1000", "")))
                        .start();
                IsolatedEnvironment renamed = env("echo renamed; exec sleep 1000")) {
            assertThat(unnamed.hostname()).isEqualTo("isolated");
            renamed.setHostname("other");

            unnamed.startImageCommand(Wait.forLogLine("unnamed"));
            renamed.startImageCommand(Wait.forLogLine("renamed"));

            Awaitility.await().untilAsserted(() -> assertThat(logged).contains("[sh] unnamed", "[svc] renamed"));
        } finally {
            logger.removeHandler(handler);
        }
    }

    @Test
    @DisplayName(
            "the service takes the environment's env, workingDirectory and user over the image's Env, WorkingDir and User")
    void serviceTakesTheEnvironmentsDefaults() throws Exception {
        Path image = image(
                dir,
                config("echo A=$A; pwd; id -u; exec sleep 1000", "").replaceFirst("}$", "")
                        + ",\"Env\":[\"A=image\"],\"WorkingDir\":\"/etc\",\"User\":\"1000\"}");
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(image).start()) {
            assertThat(env.startImageCommand(Wait.forLogLine("^\\d+$")).stdout())
                    .isEqualTo("A=image\n/etc\n1000\n");
        }
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(image)
                .env("A", "env")
                .workingDirectory("/tmp")
                .user("nobody")
                .start()) {
            assertThat(env.startImageCommand(Wait.forLogLine("^\\d+$")).stdout())
                    .isEqualTo("A=env\n/tmp\n65534\n");
        }
    }

    @Test
    @DisplayName("the HEALTHCHECK runs as the environment's user, as every command that names none")
    void healthcheckRunsAsTheEnvironmentsUser() throws Exception {
        String healthcheck = "{\"Test\":[\"CMD-SHELL\",\"test $(id -u) = 65534\"],\"Interval\":100000000}";
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(image(dir, config("exec sleep 1000", healthcheck)))
                .user("nobody")
                .startupTimeout(Duration.ofSeconds(20))
                .start()) {
            env.startImageCommand(Wait.forHealthcheck());
        }
    }

    @Test
    @DisplayName("one service at a time; service() before any fails, saying how to start one")
    void oneService() throws Exception {
        try (IsolatedEnvironment env = env("exec sleep 1000")) {
            assertThatThrownBy(env::service)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("No service was started in this environment");
            IsolatedProcess first = env.startImageCommand();
            assertThatThrownBy(env::startImageCommand)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already runs in this environment");
            first.kill();
            assertThat(env.startImageCommand("exec sleep 999").command())
                    .containsExactly("/bin/sh", "-c", "exec sleep 999");
        }
    }

    @Test
    @DisplayName("the builder's startImageCommand gives an environment whose service is ready")
    void builder() throws Exception {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(image(dir, config(SERVICE, "")))
                .startImageCommand(Wait.forHttp(8080, "/"))
                .start()) {
            assertThat(get(env, "/")).isEqualTo("200 ok\n");
            assertThat(env.startupTimeout()).isEqualTo(Duration.ofSeconds(60));
        }
    }

    @Test
    @DisplayName(
            "@StartImageCommand starts the service and waits (log line, port, HTTP, HEALTHCHECK) before the test, a class's or method's for its @Isolated parameters too; a failing one fails the test")
    void annotation() throws Exception {
        Map<String, String> configuration = Map.of(
                "isolated.rootfs", image(dir, config(SERVICE, HEALTHCHECK)).toString());
        EngineRunner.assertAllSucceeded(EngineRunner.run(ReadyServiceTestCase.class, configuration), 2);
        EngineRunner.assertAllSucceeded(EngineRunner.run(ClassServiceTestCase.class, configuration), 1);
        EngineRunner.assertAllSucceeded(EngineRunner.run(MethodServiceTestCase.class, configuration), 1);

        Map<String, String> failing = Map.of(
                "isolated.rootfs",
                image(dir, config("echo bye; exit 7", "")).toString(),
                "isolated.startup.timeout",
                "700ms");
        EngineExecutionResults results = EngineRunner.run(FailingServiceTestCase.class, failing);
        List<String> messages = results.testEvents().failed().stream()
                .map(e -> e.getPayload(TestExecutionResult.class)
                        .orElseThrow()
                        .getThrowable()
                        .orElseThrow()
                        .getMessage())
                .toList();
        assertThat(messages).hasSize(2);
        assertThat(messages.get(0) + messages.get(1))
                .contains(") exited with code 7 after ", "stdout:\n  bye\n")
                .contains(" was not ready within 700 ms (the startup timeout): still waiting for a line of its output "
                        + "matching /never/");
    }

    @Test
    @DisplayName(
            "as uid 65534 too: the service starts and its waits (log line twice, port, HTTP through mappedPort) are met")
    void asNobody() throws Exception {
        Path run = NobodyJvm.runDirectory(dir, "nobody");
        Path image = image(run, config(SERVICE, HEALTHCHECK));

        List<String> lines =
                NobodyJvm.runFixture(run, ReadyServiceTestCase.class, List.of(), "isolated.rootfs=" + image);

        assertThat(lines).hasSize(2).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    @Test
    @DisplayName("a service killed by a signal before it is ready fails at once, naming the signal and exit code")
    void killedBeforeReady() throws Exception {
        try (IsolatedEnvironment env = env("echo dying; kill -9 $$")) {
            assertThatThrownBy(() -> env.startImageCommand(Wait.forPort(8080)))
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining(") was killed by signal 9 (exit code 137) after ")
                    .hasMessageContaining(" ms, before it was ready: still waiting for TCP port 8080 to listen in the "
                            + "environment (listening now: [])\nstdout:\n  dying\n")
                    .satisfies(e -> assertThat(((ServiceNotReadyException) e).exitCode())
                            .hasValue(137));
        }
    }

    @Test
    @DisplayName(
            "@StartImageCommand on a PER_CLASS class starts one service for its tests; on one of its methods it is refused")
    void perClass() throws Exception {
        Map<String, String> configuration =
                Map.of("isolated.rootfs", image(dir, config(SERVICE, "")).toString());
        EngineRunner.assertAllSucceeded(EngineRunner.run(PerClassServiceTestCase.class, configuration), 2);

        EngineRunner.run(PerClassMethodServiceTestCase.class, configuration)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        org.junit.platform.testkit.engine.EventConditions.finishedWithFailure(
                                org.junit.platform.testkit.engine.TestExecutionResultConditions.message(
                                        m -> m.contains(
                                                "@StartImageCommand on method t cannot apply: its tests run in the PER_CLASS environment"))));
    }

    @Test
    @DisplayName(
            "@StartImageCommand on a parameter without its own @Isolated fails the test saying where to put it, and starts nothing")
    void onParameterWithoutIsolated() throws Exception {
        Map<String, String> configuration =
                Map.of("isolated.rootfs", image(dir, config(SERVICE, "")).toString());
        EngineExecutionResults results = EngineRunner.run(ParameterServiceWithoutIsolatedCase.class, configuration);

        assertThat(results.testEvents().failed().stream()
                        .map(e -> e.getPayload(TestExecutionResult.class)
                                .orElseThrow()
                                .getThrowable()
                                .orElseThrow()
                                .getMessage())
                        .toList())
                .containsExactly("@StartImageCommand on parameter env needs @Isolated on that parameter too: only an "
                        + "environment made for the parameter starts a service of its own; for the test's "
                        + "environment, put it on the method or class");
        assertThat(ParameterServiceWithoutIsolatedCase.ran).isFalse();
    }

    @Isolated
    static class ParameterServiceWithoutIsolatedCase {
        static volatile boolean ran;

        @Test
        void t(@StartImageCommand(logLine = "^ready$") IsolatedEnvironment env) {
            ran = true;
        }
    }

    @Isolated(lifecycle = Isolated.Lifecycle.PER_CLASS)
    @StartImageCommand(logLine = "^ready$", logLineTimes = 2)
    @org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.MethodName.class)
    static class PerClassServiceTestCase {
        static long firstPid;

        @Test
        void a(IsolatedEnvironment env) {
            assertThat(lines(env.service().stdout(), "ready")).isEqualTo(2);
            firstPid = env.service().hostPid();
        }

        @Test
        void b(IsolatedEnvironment env) {
            assertThat(env.service().hostPid()).isEqualTo(firstPid);
            assertThat(env.service().isAlive()).isTrue();
        }
    }

    @Test
    @DisplayName("a PER_CLASS class whose service is not ready fails as a class: none of its tests runs")
    void perClassNotReady() throws Exception {
        Map<String, String> configuration = Map.of(
                "isolated.rootfs", image(dir, config("echo bye; exit 4", "")).toString());
        EngineExecutionResults results = EngineRunner.run(PerClassServiceTestCase.class, configuration);

        assertThat(results.testEvents().started().count()).isZero();
        results.containerEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        org.junit.platform.testkit.engine.EventConditions.finishedWithFailure(
                                org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf(
                                        ServiceNotReadyException.class),
                                org.junit.platform.testkit.engine.TestExecutionResultConditions.message(
                                        m -> m.contains(") exited with code 4 after "))));
    }

    @Isolated(lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class PerClassMethodServiceTestCase {
        @Test
        @StartImageCommand
        void t(IsolatedEnvironment env) {}
    }

    @Isolated
    @StartImageCommand(
            logLine = "^ready$",
            logLineTimes = 2,
            ports = 8080,
            httpPort = 8080,
            httpPath = "/",
            healthcheck = true)
    static class ReadyServiceTestCase {
        @Test
        void serviceIsReady(IsolatedEnvironment env) throws Exception {
            assertThat(lines(env.service().stdout(), "ready")).isEqualTo(2);
            assertThat(get(env, "/")).isEqualTo("200 ok\n");
            assertThat(env.imageConfig().healthcheck().isDeclared()).isTrue();
            assertThat(env.exec("sh", "-c", WGET)).succeeded();
        }

        @Test
        void parameterHasAServiceOfItsOwn(
                IsolatedEnvironment env,
                @Isolated @StartImageCommand(args = "echo hi; exec sleep 1000", logLine = "hi")
                        IsolatedEnvironment other) {
            assertThat(env.service().isAlive()).isTrue();
            assertThat(other.service().stdout()).isEqualTo("hi\n");
        }
    }

    @Isolated
    @StartImageCommand(args = "echo up; exec sleep 1000", logLine = "^up$", startupTimeout = "2m")
    static class ClassServiceTestCase {
        @Test
        void parameterTakesTheClasssService(IsolatedEnvironment env, @Isolated IsolatedEnvironment other) {
            assertThat(other.service().isAlive()).isTrue();
            assertThat(other.service().stdout()).isEqualTo("up\n");
            assertThat(other.service().hostPid()).isNotEqualTo(env.service().hostPid());
            assertThat(other.startupTimeout()).isEqualTo(Duration.ofMinutes(2));
        }
    }

    @Isolated
    static class MethodServiceTestCase {
        @Test
        @StartImageCommand(args = "echo up; exec sleep 1000", logLine = "^up$")
        void parameterTakesTheMethodsService(IsolatedEnvironment env, @Isolated IsolatedEnvironment other) {
            assertThat(other.service().stdout()).isEqualTo("up\n");
            assertThat(other.service().hostPid()).isNotEqualTo(env.service().hostPid());
        }
    }

    @Isolated
    static class FailingServiceTestCase {
        @Test
        @StartImageCommand(logLine = "ready")
        void exits(IsolatedEnvironment env) {}

        @Test
        @StartImageCommand(args = "exec sleep 1000", logLine = "never")
        void timesOut(IsolatedEnvironment env) {}
    }

    @Test
    @DisplayName(
            "isolated.startup.timeout (a system property for builder()) is a service's startup timeout, 60 s unless "
                    + "set; builder.startupTimeout wins")
    void startupTimeoutKey() {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(env.startupTimeout()).isEqualTo(Duration.ofSeconds(60));
        }
        System.setProperty(IsolatedConfiguration.STARTUP_TIMEOUT, "7s");
        try {
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                assertThat(env.startupTimeout()).isEqualTo(Duration.ofSeconds(7));
            }
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .startupTimeout(Duration.ofSeconds(3))
                    .start()) {
                assertThat(env.startupTimeout()).isEqualTo(Duration.ofSeconds(3));
            }
            System.setProperty(IsolatedConfiguration.STARTUP_TIMEOUT, "1s");
            assertThatThrownBy(() -> IsolatedEnvironment.builder()
                            .rootfs("busybox.tar")
                            .startImageCommand(Wait.forLogLine("never printed"), "sleep", "100")
                            .start())
                    .isInstanceOf(ServiceNotReadyException.class)
                    .hasMessageContaining("was not ready within 1000 ms (the startup timeout)");
        } finally {
            System.clearProperty(IsolatedConfiguration.STARTUP_TIMEOUT);
        }
    }
}
