package dev.isolated.internal.registry;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's {@code docker-registry} (the CNCF distribution server, installed by .ci/install-deps) serving
 * a storage directory on 127.0.0.1 and a free port, started with a config written here: plain, with
 * htpasswd basic auth, with bearer tokens from a realm the test serves, or over TLS with a test certificate. Its log (stderr) is kept, so
 * tests can count the GETs of a blob. {@link #close()} stops it. Pushes go through {@code skopeo copy}.
 */
public final class LocalRegistry implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern REQUEST = Pattern.compile(
            "http\\.request\\.method=(\\w+) .*http\\.request\\.uri=\"?(\\S+?)\"? .*http\\.response\\.status=(\\d+)");

    private final Process process;
    private final Path storage;
    private final int port;
    private final List<String> sharedLog;
    /** {@code http} or {@code https}. */
    private final String scheme;
    /** The test's own client, trusting the registry's certificate when it serves TLS. */
    private final HttpClient client;

    private LocalRegistry(Process process, Path storage, int port, List<String> log, String scheme, HttpClient client) {
        this.process = process;
        this.storage = storage;
        this.port = port;
        this.sharedLog = log;
        this.scheme = scheme;
        this.client = client;
    }

    /** A registry without auth over {@code storage}. */
    public static LocalRegistry start(Path work, Path storage) throws Exception {
        return start(work, storage, "", null);
    }

    /** A registry without auth over {@code storage}, served over HTTPS only, with {@code certificate}. */
    public static LocalRegistry startWithTls(Path work, Path storage, TlsCertificate certificate) throws Exception {
        return start(work, storage, "", certificate);
    }

    /** A registry with htpasswd basic auth for {@code user}/{@code password} (bcrypt, by {@code htpasswd -B}). */
    public static LocalRegistry startWithBasicAuth(Path work, Path storage, String user, String password)
            throws Exception {
        Files.createDirectories(work);
        Path htpasswd = work.resolve("htpasswd");
        List<String> line = run(work, "htpasswd", "-Bbn", user, password);
        Files.writeString(htpasswd, line.get(0) + "\n");
        return start(work, storage, "auth:\n  htpasswd:\n    realm: isolated-test\n    path: " + htpasswd + "\n", null);
    }

    /** A registry that accepts bearer tokens signed by {@code tokens}' key. */
    public static LocalRegistry startWithTokens(Path work, Path storage, TokenServer tokens) throws Exception {
        return start(
                work,
                storage,
                "auth:\n  token:\n    realm: " + tokens.realm() + "\n    service: " + TokenServer.SERVICE
                        + "\n    issuer: " + TokenServer.ISSUER + "\n    rootcertbundle: " + tokens.certificate()
                        + "\n",
                null);
    }

    private static LocalRegistry start(Path work, Path storage, String auth, TlsCertificate tls) throws Exception {
        Files.createDirectories(work);
        Path config = Files.createTempFile(work, "registry-", ".yml");
        Files.writeString(
                config,
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n"
                        + "storage:\n  filesystem:\n    rootdirectory: " + storage + "\n  delete:\n    enabled: true\n"
                        + "  redirect:\n    disable: true\nhttp:\n  addr: 127.0.0.1:0\n  secret: isolated-test-secret\n"
                        + (tls == null
                                ? ""
                                : "  tls:\n    certificate: " + tls.certificate() + "\n    key: " + tls.key() + "\n")
                        + auth);
        Process process;
        try {
            process = new ProcessBuilder("docker-registry", "serve", config.toString())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            throw new AssertionError(
                    "Cannot run docker-registry (.ci/install-deps installs Debian's docker-registry): " + e, e);
        }
        CompletableFuture<Integer> port = new CompletableFuture<>();
        List<String> early = new ArrayList<>();
        Thread reader = new Thread(
                () -> {
                    try (BufferedReader lines = new BufferedReader(
                            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                        String line;
                        while ((line = lines.readLine()) != null) {
                            synchronized (early) {
                                early.add(line);
                            }
                            Matcher matcher = LISTENING.matcher(line);
                            if (matcher.find()) {
                                port.complete(Integer.parseInt(matcher.group(1)));
                            }
                        }
                    } catch (IOException e) {
                        // the registry stopped
                    }
                    port.completeExceptionally(new AssertionError("docker-registry exited: " + early));
                },
                "docker-registry log");
        reader.setDaemon(true);
        reader.start();
        int listening;
        try {
            listening = port.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            throw new AssertionError("docker-registry did not start: " + early, e);
        }
        LocalRegistry started = tls == null
                ? new LocalRegistry(process, storage, listening, early, "http", HttpClient.newHttpClient())
                : new LocalRegistry(
                        process,
                        storage,
                        listening,
                        early,
                        "https",
                        HttpClient.newBuilder().sslContext(tls.sslContext()).build());
        started.awaitReady();
        return started;
    }

    private void awaitReady() throws Exception {
        for (int i = 0; i < 100; i++) {
            try {
                int status = client.send(
                                HttpRequest.newBuilder(URI.create(scheme + "://" + host() + "/v2/"))
                                        .timeout(Duration.ofSeconds(2))
                                        .build(),
                                HttpResponse.BodyHandlers.discarding())
                        .statusCode();
                if (status == 200 || status == 401) {
                    return;
                }
            } catch (IOException e) {
                // not yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("docker-registry on " + scheme + "://" + host() + " never answered GET /v2/");
    }

    /** {@code 127.0.0.1:<port>}. */
    public String host() {
        return "127.0.0.1:" + port;
    }

    /** The storage directory. */
    public Path storage() {
        return storage;
    }

    /** The registry's log lines so far. */
    public List<String> log() {
        synchronized (sharedLog) {
            return new ArrayList<>(sharedLog);
        }
    }

    /**
     * The requests for {@code path} (e.g. {@code /v2/library/busybox/blobs/sha256:...}) answered with {@code status},
     * counted once the log holds every request completed before this call (a marker request is logged after them).
     */
    public long requests(String method, String path, int status) throws Exception {
        String marker = "/v2/marker-" + java.util.UUID.randomUUID();
        client.send(
                HttpRequest.newBuilder(URI.create(scheme + "://" + host() + marker))
                        .build(),
                HttpResponse.BodyHandlers.discarding());
        for (int i = 0; i < 100 && log().stream().noneMatch(line -> line.contains(marker)); i++) {
            Thread.sleep(50);
        }
        return log().stream()
                .map(REQUEST::matcher)
                .filter(Matcher::find)
                .filter(m ->
                        m.group(1).equals(method) && m.group(2).equals(path) && Integer.parseInt(m.group(3)) == status)
                .count();
    }

    /** Pushes {@code oci:<layout>:<tag>} to {@code repository:destinationTag} with skopeo. */
    public void push(Path layout, String tag, String repositoryAndTag, String... options) throws Exception {
        List<String> command =
                new ArrayList<>(List.of("skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false"));
        command.addAll(List.of(options));
        command.add("oci:" + layout + ":" + tag);
        command.add("docker://" + host() + "/" + repositoryAndTag);
        run(layout.getParent(), command.toArray(String[]::new));
    }

    /** Puts a manifest or index under a tag through the HTTP API (the registry has no auth). */
    public String putManifest(String repository, String tag, String mediaType, byte[] manifest) throws Exception {
        HttpResponse<String> response = client.send(
                HttpRequest.newBuilder(URI.create(scheme + "://" + host() + "/v2/" + repository + "/manifests/" + tag))
                        .header("Content-Type", mediaType)
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 201) {
            throw new AssertionError("PUT manifest " + repository + ":" + tag + ": HTTP " + response.statusCode() + " "
                    + response.body());
        }
        return response.headers().firstValue("Docker-Content-Digest").orElseThrow();
    }

    /** HEADs a manifest: its digest and size. */
    public String[] head(String repository, String reference) throws Exception {
        HttpResponse<Void> response = client.send(
                HttpRequest.newBuilder(
                                URI.create(scheme + "://" + host() + "/v2/" + repository + "/manifests/" + reference))
                        .header("Accept", String.join(",", RegistryClient.MANIFEST_TYPES))
                        .method("HEAD", HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.discarding());
        return new String[] {
            response.headers().firstValue("Docker-Content-Digest").orElseThrow(),
            response.headers().firstValue("Content-Length").orElseThrow(),
            response.headers().firstValue("Content-Type").orElseThrow()
        };
    }

    /** The file holding a blob in the registry's storage. */
    public Path blobData(String digest) {
        String hex = digest.substring("sha256:".length());
        return storage.resolve("docker/registry/v2/blobs/sha256")
                .resolve(hex.substring(0, 2))
                .resolve(hex)
                .resolve("data");
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Runs a command, failing with its output unless it exits 0; returns its output lines. */
    static List<String> run(Path directory, String... command) throws Exception {
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .directory(directory.toFile())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            throw new AssertionError("Cannot run " + command[0] + " (.ci/install-deps installs it): " + e, e);
        }
        List<String> lines = new ArrayList<>();
        try (var reader = process.inputReader(StandardCharsets.UTF_8)) {
            reader.lines().forEach(lines::add);
        }
        if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + lines);
        }
        return lines;
    }
}
