package dev.isolated.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.isolated.internal.image.TestImages;
import dev.isolated.internal.image.UnpackLimits;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Registries that lie or dawdle, played by {@link FakeRegistry}. */
@DisplayName("a registry that misbehaves")
class MisbehavingRegistryTests {

    @TempDir
    Path dir;

    private ImagePuller puller(FakeRegistry registry) {
        return puller(registry, RegistryClient.STALL_TIMEOUT);
    }

    private ImagePuller puller(FakeRegistry registry, Duration stallTimeout) {
        return puller(registry, UnpackLimits.DEFAULT_MAX_TOTAL_BYTES, stallTimeout);
    }

    private ImagePuller puller(FakeRegistry registry, long maxImageBytes, Duration stallTimeout) {
        return puller(registry.host(), maxImageBytes, stallTimeout);
    }

    /** A puller of a fresh store that talks plain HTTP to {@code host}. */
    private ImagePuller puller(String host, long maxImageBytes, Duration stallTimeout) {
        ImagePuller.forgetResolvedTags();
        Map<String, String> keys = Map.of("isolated.registry.insecure", host);
        return new ImagePuller(
                dir.resolve("cache"),
                PullSettings.from(
                        key -> Optional.ofNullable(keys.get(key)),
                        name -> name.equals("DOCKER_CONFIG") ? dir.toString() : null),
                maxImageBytes,
                stallTimeout);
    }

    /** The names in the store's {@code blobs/sha256}. */
    private List<String> stored() throws Exception {
        try (Stream<Path> files = Files.list(dir.resolve("cache/blobs/sha256"))) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    private static String hex(String digest) {
        return digest.substring("sha256:".length());
    }

    private FakeRegistry registry() throws Exception {
        return new FakeRegistry(TestOci.layout(
                dir.resolve("oci"), "amd64", "{}", TestImages.layer(List.of("etc"), Map.of("etc/fake", "fake\n"))));
    }

    @Test
    @DisplayName("a Docker-Content-Digest that is not the manifest's: refused, nothing stored")
    void wrongDigestHeader() throws Exception {
        try (FakeRegistry registry = registry()) {
            String wrong = "sha256:" + "0".repeat(64);
            registry.digestHeader = digest -> wrong;
            String name = registry.host() + "/app:1";
            assertThatThrownBy(() -> puller(registry).pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage("Image " + name + ": its manifest from " + registry.host()
                            + " does not match its digest: the "
                            + "registry says " + wrong + ", its content hashes to " + registry.manifestDigest()
                            + "; nothing was stored");
            assertThat(dir.resolve("cache/blobs/sha256")).isEmptyDirectory();
        }
    }

    @Test
    @DisplayName("a manifest over 4 MiB is refused without reading it all")
    void hugeManifest() throws Exception {
        try (FakeRegistry registry = registry()) {
            registry.manifestBody = manifest -> {
                byte[] huge = new byte[5 * 1024 * 1024];
                Arrays.fill(huge, (byte) ' ');
                System.arraycopy(manifest, 0, huge, 0, manifest.length);
                return huge;
            };
            String name = registry.host() + "/app:1";
            assertThatThrownBy(() -> puller(registry).pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage("Image " + name + ": its manifest from " + registry.host()
                            + " has 5242880 bytes, more than the " + "4194304 a manifest may have");
        }
    }

    @Test
    @DisplayName("a blob that sends its headers, then half its bytes, then nothing: the pull fails after the stall "
            + "timeout, naming the image, the blob and the registry; the bytes are kept only as a .partial")
    void stalledBlob() throws Exception {
        try (FakeRegistry registry = registry()) {
            registry.blobPauseMillis = 600_000;
            String name = registry.host() + "/app:1";
            String config = configDigest(registry);
            long size = Files.size(dir.resolve("oci/blobs/sha256/" + hex(config)));
            Path partial = dir.resolve("cache/blobs/sha256/" + hex(config) + ".partial")
                    .toAbsolutePath();
            long started = System.nanoTime();
            assertThatThrownBy(() -> puller(registry, Duration.ofMillis(500)).pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage("Image " + name + ": blob " + config + " (config) from " + registry.host()
                            + ": the download broke off after " + size / 2 + " of " + size
                            + " bytes (no byte arrived for "
                            + "500 ms); they are kept in " + partial + " and the next pull resumes from there");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
            assertThat(Thread.currentThread().isInterrupted()).isFalse();
            assertThat(stored()).containsExactlyInAnyOrder(hex(registry.manifestDigest()), hex(config) + ".partial");

            registry.endPauses();
            Path layout = puller(registry, Duration.ofMillis(500)).pull(name);
            assertThat(layout.resolve("blobs/sha256/" + hex(config)))
                    .hasSameBinaryContentAs(dir.resolve("oci/blobs/sha256/" + hex(config)));
            assertThat(partial).doesNotExist();
        }
    }

    @Test
    @DisplayName("a manifest whose layer declares 5 TiB: refused before any blob is requested, naming the size and "
            + "isolated.image.maxBytes")
    void hugeLayer() throws Exception {
        try (FakeRegistry registry = registry()) {
            AtomicReference<byte[]> served = new AtomicReference<>();
            registry.manifestBody = manifest -> {
                byte[] bytes = new String(manifest, StandardCharsets.UTF_8)
                        .replaceFirst("(\"layers\":\\[\\{[^}]*\"size\":)[0-9]+", "$15497558138880")
                        .getBytes(StandardCharsets.UTF_8);
                served.set(bytes);
                return bytes;
            };
            registry.digestHeader = digest -> "";
            String name = registry.host() + "/app:1";
            assertThatThrownBy(() -> puller(registry).pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage("Image " + name
                            + ": its layers declare 5497558138880 bytes in all, more than the 4294967296 "
                            + "bytes isolated.image.maxBytes allows an image; no layer was downloaded. If the image is "
                            + "trusted, raise the limit with -Disolated.image.maxBytes=BYTES");
            assertThat(registry.blobRequests).hasValue(0);
            assertThat(stored()).containsExactly(hex(TestOci.digest(served.get())));
        }
    }

    @Test
    @DisplayName("a foreign layer (a descriptor with urls): refused before any blob is requested, naming the layer")
    void foreignLayer() throws Exception {
        try (FakeRegistry registry = registry()) {
            registry.manifestBody = manifest -> new String(manifest, StandardCharsets.UTF_8)
                    .replaceFirst("\"layers\":\\[\\{", "\"layers\":[{\"urls\":[\"https://example.com/layer\"],")
                    .getBytes(StandardCharsets.UTF_8);
            registry.digestHeader = digest -> "";
            String name = registry.host() + "/app:1";
            assertThatThrownBy(() -> puller(registry).pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessageMatching("Image " + Pattern.quote(name)
                            + ": layer sha256:[0-9a-f]{64} is a foreign \\(non-distributable\\) layer with 'urls'; "
                            + "Isolated fetches only from the registry and refuses it");
            assertThat(registry.blobRequests).hasValue(0);
        }
    }

    @Test
    @DisplayName("a config whose descriptor declares more than 16 MiB: refused before any blob is requested")
    void hugeConfig() throws Exception {
        try (FakeRegistry registry = registry()) {
            registry.manifestBody = manifest -> new String(manifest, StandardCharsets.UTF_8)
                    .replaceFirst("(\"config\":\\{[^}]*\"size\":)[0-9]+", "$116777217")
                    .getBytes(StandardCharsets.UTF_8);
            registry.digestHeader = digest -> "";
            String name = registry.host() + "/app:1";
            assertThatThrownBy(() -> puller(registry).pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage("Image " + name
                            + ": its config has 16777217 bytes, more than the 16777216 a config may have");
            assertThat(registry.blobRequests).hasValue(0);
        }
    }

    @Test
    @DisplayName("a registry that redirects forever: 10 redirects are followed, then the pull fails saying so")
    void redirectLoop() throws Exception {
        AtomicInteger requests = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            requests.incrementAndGet();
            exchange.getResponseHeaders()
                    .add("Location", exchange.getRequestURI().getPath());
            exchange.sendResponseHeaders(302, -1);
            exchange.close();
        });
        server.start();
        try {
            String host = "127.0.0.1:" + server.getAddress().getPort();
            ImagePuller puller = puller(host, UnpackLimits.DEFAULT_MAX_TOTAL_BYTES, RegistryClient.STALL_TIMEOUT);
            String name = host + "/app:1";
            assertThatThrownBy(() -> puller.pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage(
                            "Image " + name + ": " + host + " redirected GET /v2/app/manifests/1 more than 10 times");
            assertThat(requests).hasValue(11);

            RegistryClient client = new RegistryClient(
                    name,
                    host,
                    URI.create("http://" + host),
                    "app",
                    PullSettings.from(
                            key -> Optional.ofNullable(
                                    Map.of("isolated.registry.insecure", host).get(key)),
                            variable -> null),
                    Credentials.anonymous("none"),
                    RegistryClient.STALL_TIMEOUT);
            assertThatThrownBy(() -> client.headDigest("1"))
                    .as("the HEAD of isolated.pull=always names its own method")
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage(
                            "Image " + name + ": " + host + " redirected HEAD /v2/app/manifests/1 more than 10 times");
        } finally {
            server.stop(0);
        }
    }

    @Test
    @DisplayName("a Docker schema 1 manifest: refused, naming the format")
    void schemaOneManifest() throws Exception {
        try (FakeRegistry registry = registry()) {
            registry.manifestBody = manifest -> "{\"schemaVersion\":1,\"name\":\"app\",\"tag\":\"1\",\"fsLayers\":[]}"
                    .getBytes(StandardCharsets.UTF_8);
            registry.digestHeader = digest -> "";
            String name = registry.host() + "/app:1";
            assertThatThrownBy(() -> puller(registry).pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage(
                            "Image " + name
                                    + ": it is a Docker schema 1 manifest, a format deprecated since 2017 that Isolated does not read");
            assertThat(registry.blobRequests).hasValue(0);
        }
    }

    @Test
    @DisplayName("a blob longer than its descriptor says, by its Content-Length: refused at once, nothing of it stored")
    void longerBlobByContentLength() throws Exception {
        longerBlob(false);
    }

    @Test
    @DisplayName("a blob longer than its descriptor says, sent chunked: refused after one byte too many, nothing of it "
            + "stored")
    void longerBlobChunked() throws Exception {
        longerBlob(true);
    }

    private void longerBlob(boolean chunked) throws Exception {
        try (FakeRegistry registry = registry()) {
            registry.chunkedBlobs = chunked;
            registry.blobBody = blob -> {
                byte[] longer = Arrays.copyOf(blob, blob.length + 1024 * 1024);
                Arrays.fill(longer, blob.length, longer.length, (byte) 'x');
                return longer;
            };
            String name = registry.host() + "/app:1";
            String config = configDigest(registry);
            long size = Files.size(dir.resolve("oci/blobs/sha256/" + hex(config)));
            assertThatThrownBy(() -> puller(registry).pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage("Image " + name + ": blob " + config + " (config) from " + registry.host()
                            + " has more bytes than the " + size + " its descriptor gives; it was not stored");
            assertThat(stored()).containsExactly(hex(registry.manifestDigest()));
        }
    }

    private String configDigest(FakeRegistry registry) throws Exception {
        String manifest = Files.readString(dir.resolve("oci/blobs/sha256/" + hex(registry.manifestDigest())));
        return manifest.replaceAll(".*\"config\":\\{[^}]*\"digest\":\"(sha256:[0-9a-f]{64})\".*", "$1");
    }

    @Test
    @DisplayName("a pull longer than a second logs its progress (bytes and blobs) at INFO")
    void progress() throws Exception {
        List<String> messages = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.INFO.intValue()) {
                    synchronized (messages) {
                        messages.add(record.getMessage());
                    }
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger logger = Logger.getLogger(ImagePuller.class.getName());
        logger.addHandler(handler);
        try (FakeRegistry registry = registry()) {
            registry.blobPauseMillis = 1200;
            String name = registry.host() + "/app:1";
            puller(registry).pull(name);
            assertThat(messages)
                    .anyMatch(m -> m.matches("Pulling " + name.replace(".", "\\.") + " from "
                            + registry.host().replace(".", "\\.") + ": [0-9.]+ of [0-9.]+ MiB, [0-9] of 2 blobs done"));
            assertThat(messages)
                    .anyMatch(m -> m.startsWith("Pulled " + name + " (" + registry.manifestDigest() + ") from "
                            + registry.host() + ": 2 blobs, "));
        } finally {
            logger.removeHandler(handler);
        }
    }
}
