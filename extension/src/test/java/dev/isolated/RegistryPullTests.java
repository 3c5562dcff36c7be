package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import com.sun.net.httpserver.HttpServer;
import dev.isolated.internal.image.TestImages;
import dev.isolated.internal.registry.FakeRegistry;
import dev.isolated.internal.registry.ForwardProxy;
import dev.isolated.internal.registry.ImagePullException;
import dev.isolated.internal.registry.ImagePuller;
import dev.isolated.internal.registry.LocalRegistry;
import dev.isolated.internal.registry.PullSettings;
import dev.isolated.internal.registry.TestOci;
import dev.isolated.internal.registry.TokenServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images by name (issue 12), pulled from Debian's docker-registry started on 127.0.0.1 by the test
 * (.ci/install-deps installs it, skopeo and htpasswd). No other registry is ever contacted: docker.io names
 * go to the test's registry through {@code isolated.registry.mirror}.
 */
@DisplayName("Images by name from a registry")
class RegistryPullTests {

    private static final String RUN_CONFIG =
            "{\"Env\":[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\",\"GREETING=from-config\"]}";
    private static final String INDEX = "application/vnd.oci.image.index.v1+json";

    private static Path work;
    private static LocalRegistry registry;
    private static String host;
    private static byte[] busybox;
    private static Path busyboxLayout;

    @TempDir
    Path dir;

    @BeforeAll
    static void startRegistry() throws Exception {
        work = Files.createTempDirectory("isolated-registry-tests-");
        registry = LocalRegistry.start(work, work.resolve("storage"));
        host = registry.host();
        try (InputStream in = RegistryPullTests.class.getResourceAsStream("/busybox.tar")) {
            busybox = in.readAllBytes();
        }
        busyboxLayout = TestImages.ociLayout(Files.createDirectory(work.resolve("busybox")), RUN_CONFIG, busybox);
        registry.push(busyboxLayout, "1.0", "library/busybox:1");
        registry.push(busyboxLayout, "1.0", "library/busybox:v2s2", "--format", "v2s2");
        registry.push(busyboxLayout, "1.0", "isolated-test/busybox:1");

        // A multi-platform index: arm64 first, an attestation entry, then this host's amd64.
        Path arm = TestOci.layout(
                work.resolve("arm64"), "arm64", "{}", TestImages.layer(List.of("etc"), Map.of("etc/arch", "arm64\n")));
        registry.push(arm, "1.0", "library/multi:arm64");
        registry.push(busyboxLayout, "1.0", "library/multi:amd64");
        String[] armManifest = registry.head("library/multi", "arm64");
        String[] amdManifest = registry.head("library/multi", "amd64");
        registry.putManifest(
                "library/multi",
                "1",
                INDEX,
                index(
                        entry(
                                armManifest,
                                "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}"),
                        entry(
                                armManifest,
                                "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"},"
                                        + "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"}"),
                        entry(amdManifest, "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}")));
        registry.push(arm, "1.0", "library/noplatform:arm64");
        registry.putManifest(
                "library/noplatform",
                "1",
                INDEX,
                index(
                        entry(
                                armManifest,
                                "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}"),
                        entry(armManifest, "\"platform\":{\"architecture\":\"s390x\",\"os\":\"linux\"}")));

        // docker.io names in annotations reach this registry only, as the docker.io mirror.
        System.setProperty(IsolatedConfiguration.REGISTRY_MIRROR, "http://" + host);
        System.setProperty(IsolatedConfiguration.REGISTRY_INSECURE, host);
    }

    @AfterAll
    static void stopRegistry() throws Exception {
        System.clearProperty(IsolatedConfiguration.REGISTRY_MIRROR);
        System.clearProperty(IsolatedConfiguration.REGISTRY_INSECURE);
        if (registry != null) {
            registry.close();
        }
        if (work != null) {
            try (var paths = Files.walk(work)) {
                for (Path path :
                        paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(path);
                }
            }
        }
    }

    private static String entry(String[] manifest, String platform) {
        return "{\"mediaType\":\"" + manifest[2] + "\",\"digest\":\"" + manifest[0] + "\",\"size\":" + manifest[1] + ","
                + platform + "}";
    }

    private static byte[] index(String... entries) {
        return ("{\"schemaVersion\":2,\"mediaType\":\"" + INDEX + "\",\"manifests\":[" + String.join(",", entries)
                        + "]}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static Function<String, Optional<String>> configuration(String... keysAndValues) {
        Map<String, String> map = new HashMap<>();
        map.put(IsolatedConfiguration.REGISTRY_INSECURE, host);
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return key -> Optional.ofNullable(map.get(key));
    }

    /** A puller over its own store, with no environment (no Docker config, no ISOLATED_REGISTRY_*). */
    private ImagePuller puller(Path cache, String... keysAndValues) throws IOException {
        Path dockerConfig = Files.createDirectories(dir.resolve("docker-config"));
        ImagePuller.forgetResolvedTags();
        return new ImagePuller(
                cache,
                PullSettings.from(
                        configuration(keysAndValues),
                        name -> name.equals("DOCKER_CONFIG") ? dockerConfig.toString() : null));
    }

    private String noCredentials() {
        return "anonymous (no " + dir.resolve("docker-config/config.json") + ", no DOCKER_AUTH_CONFIG, no "
                + "ISOLATED_REGISTRY_USERNAME)";
    }

    private static void assertIsBusybox(IsolatedEnvironment env) {
        assertThat(env.exec("ls", "/")).succeeded().stdout().contains("bin").doesNotContain("index.json");
        assertThat(env.exec("sh", "-c", "echo $GREETING")).succeeded().stdout().isEqualTo("from-config\n");
    }

    @Test
    @DisplayName("@Isolated(image = ...) pulls by tag (a docker.io name, through the mirror); the config's Env applies")
    void annotation(@Isolated(image = "isolated-test/busybox:1") IsolatedEnvironment env) {
        assertIsBusybox(env);
    }

    @Test
    @DisplayName("builder().image(\"127.0.0.1:PORT/library/busybox:1\") pulls by tag")
    void builderByTag() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .image(host + "/library/busybox:1")
                .configuration(configuration())
                .start()) {
            assertIsBusybox(env);
        }
    }

    @Test
    @DisplayName("a Docker schema 2 manifest (skopeo --format v2s2) pulls as well")
    void dockerManifest() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .image(host + "/library/busybox:v2s2")
                .configuration(configuration())
                .start()) {
            assertIsBusybox(env);
        }
    }

    @Test
    @DisplayName("pulls by digest; with a tag and a digest, the digest decides (the tag is not looked up)")
    void byDigest() throws Exception {
        String digest = registry.head("library/busybox", "1")[0];
        for (String name : List.of(host + "/library/busybox@" + digest, host + "/library/busybox:nope@" + digest)) {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .image(name)
                    .configuration(configuration())
                    .start()) {
                assertIsBusybox(env);
            }
        }
    }

    @Test
    @DisplayName(
            "a multi-platform index resolves to linux/amd64 (this host), past arm64 and an attestation entry; the store is 0700")
    void multiPlatform() throws Exception {
        Path layout = puller(dir.resolve("cache")).pull(host + "/library/multi:1");
        assertThat(Files.readString(layout.resolve("index.json"))).contains(registry.head("library/multi", "amd64")[0]);
        for (String store : List.of("", "blobs", "blobs/sha256", "blobs/locks", "refs", "layouts")) {
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
                            Files.getPosixFilePermissions(dir.resolve("cache").resolve(store))))
                    .as(store)
                    .isEqualTo("rwx------");
        }
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .image(host + "/library/multi:1")
                .configuration(configuration())
                .start()) {
            assertIsBusybox(env);
            assertThat(env.exec("cat", "/etc/arch")).failed();
        }
    }

    @Test
    @DisplayName(
            "a multi-platform image's pull is logged with the digest its tag resolved to (the index's, recorded in "
                    + "refs/, to pin by), then its platform's manifest")
    void pullLogNamesTheTagsDigest() throws Exception {
        java.util.logging.Logger log = java.util.logging.Logger.getLogger(ImagePuller.class.getName());
        List<String> messages = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord record) {
                messages.add(record.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        java.util.logging.Level level = log.getLevel();
        log.setLevel(java.util.logging.Level.FINE);
        log.addHandler(handler);
        try {
            puller(dir.resolve("cache")).pull(host + "/library/multi:1");
        } finally {
            log.removeHandler(handler);
            log.setLevel(level);
        }
        String index = registry.head("library/multi", "1")[0];
        assertThat(Files.readAllLines(dir.resolve("cache/refs").resolve(host).resolve("library/multi/1")))
                .first()
                .isEqualTo(index);
        assertThat(messages)
                .anySatisfy(message -> assertThat(message)
                        .startsWith("Pulled " + host + "/library/multi:1 (" + index + ") from " + host + ": ")
                        .endsWith("; its manifest for linux/amd64 is " + registry.head("library/multi", "amd64")[0]));
    }

    @Test
    @DisplayName(
            "isolated.image.platform picks another platform's manifest of an index (linux/arm64 and linux/arm64/v8 alike), "
                    + "lets a single-platform image for it through, and names itself when the index lacks it")
    void platformOverride() throws Exception {
        String arm = registry.head("library/multi", "arm64")[0];
        String index = registry.head("library/multi", "1")[0];
        for (String platform : List.of("linux/arm64", "linux/arm64/v8", "LINUX/aarch64")) {
            Path layout = puller(dir.resolve("cache"), IsolatedConfiguration.IMAGE_PLATFORM, platform)
                    .pull(host + "/library/multi:1");
            assertThat(layout.getFileName().toString()).as(platform).isEqualTo(arm.substring(7));
            assertThat(Files.readString(layout.resolve("index.json")))
                    .as(platform)
                    .contains(arm);
        }
        assertThat(puller(dir.resolve("cache"), IsolatedConfiguration.IMAGE_PLATFORM, "linux/arm64")
                        .pull(host + "/library/multi:arm64")
                        .getFileName()
                        .toString())
                .isEqualTo(arm.substring(7));
        assertThat(Files.readString(puller(dir.resolve("cache"), IsolatedConfiguration.IMAGE_PLATFORM, "linux/amd64")
                        .pull(host + "/library/multi:1")
                        .resolve("index.json")))
                .contains(registry.head("library/multi", "amd64")[0]);

        assertThatThrownBy(() -> puller(dir.resolve("cache"), IsolatedConfiguration.IMAGE_PLATFORM, "linux/s390x")
                        .pull(host + "/library/multi:1"))
                .isInstanceOf(ImagePullException.class)
                .hasMessage("Image " + host + "/library/multi:1: no manifest for linux/s390x in its image index "
                        + index + "; it has: linux/arm64, linux/amd64");
        assertThatThrownBy(() -> puller(dir.resolve("cache"), IsolatedConfiguration.IMAGE_PLATFORM, "linux/arm/v7")
                        .pull(host + "/library/multi:arm64"))
                .isInstanceOf(ImagePullException.class)
                .hasMessage("Image " + host
                        + "/library/multi:arm64: it is an image for linux/arm64, and this is linux/arm/v7; "
                        + "no manifest for linux/arm/v7");
        assertThatThrownBy(() -> puller(dir.resolve("cache"), IsolatedConfiguration.IMAGE_PLATFORM, "arm64"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("isolated.image.platform=arm64 is not valid: write linux/<architecture>[/<variant>], e.g. "
                        + "linux/arm64 or linux/arm/v7 (the environments run Linux only)");
    }

    @Test
    @DisplayName("a nested index is followed for the platform asked for also when the outer entry names no platform "
            + "(as OCI allows); an entry that names the platform wins over one that names none")
    void nestedIndexWithoutPlatform() throws Exception {
        String[] inner = registry.head("library/multi", "1");
        registry.putManifest("library/multi", "nested", INDEX, index(entryWithoutPlatform(inner)));
        String arm = registry.head("library/multi", "arm64")[0];
        String amd = registry.head("library/multi", "amd64")[0];
        assertThat(puller(dir.resolve("cache"))
                        .pull(host + "/library/multi:nested")
                        .getFileName()
                        .toString())
                .isEqualTo(amd.substring(7));
        assertThat(puller(dir.resolve("cache"), IsolatedConfiguration.IMAGE_PLATFORM, "linux/arm64")
                        .pull(host + "/library/multi:nested")
                        .getFileName()
                        .toString())
                .as("the outer entry is not taken for linux/amd64")
                .isEqualTo(arm.substring(7));

        registry.putManifest(
                "library/multi",
                "nested2",
                INDEX,
                index(
                        entryWithoutPlatform(registry.head("library/multi", "arm64")),
                        entry(
                                registry.head("library/multi", "amd64"),
                                "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}")));
        assertThat(puller(dir.resolve("cache"))
                        .pull(host + "/library/multi:nested2")
                        .getFileName()
                        .toString())
                .isEqualTo(amd.substring(7));
    }

    private static String entryWithoutPlatform(String[] manifest) {
        return "{\"mediaType\":\"" + manifest[2] + "\",\"digest\":\"" + manifest[0] + "\",\"size\":" + manifest[1]
                + "}";
    }

    @Test
    @DisplayName("an index without this platform fails naming the platforms it has")
    void noPlatform() throws Exception {
        String index = registry.head("library/noplatform", "1")[0];
        assertThatThrownBy(() -> puller(dir.resolve("cache")).pull(host + "/library/noplatform:1"))
                .isInstanceOf(ImagePullException.class)
                .hasMessage("Image " + host + "/library/noplatform:1: no manifest for linux/amd64 in its image index "
                        + index + "; it has: linux/arm64, linux/s390x");
    }

    @Test
    @DisplayName("a single-platform image for another architecture fails naming both platforms")
    void otherArchitecture() {
        assertThatThrownBy(() -> puller(dir.resolve("cache")).pull(host + "/library/multi:arm64"))
                .isInstanceOf(ImagePullException.class)
                .hasMessage("Image " + host
                        + "/library/multi:arm64: it is an image for linux/arm64, and this is linux/amd64; "
                        + "no manifest for linux/amd64");
    }

    @Test
    @DisplayName("an unknown tag fails naming the image and the registry's answer")
    void unknownTag() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .image(host + "/library/busybox:nope")
                        .configuration(configuration())
                        .start())
                .isInstanceOf(ImagePullException.class)
                .hasMessage(
                        "Image " + host + "/library/busybox:nope: " + host + " has no manifest library/busybox:nope "
                                + "(HTTP 404 MANIFEST_UNKNOWN: manifest unknown); check the repository name and the tag or digest");
    }

    @Test
    @DisplayName("neither rootfs nor image is refused, naming both ways to give one")
    void neitherRootfsNorImage() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder().hostname("box").start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage(
                        "No rootfs: call rootfs(\"busybox.tar\"), rootfs(path) or image(\"name:tag\") before start()");
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .image("busybox:1")
                        .image("")
                        .rootfs("busybox.tar")
                        .rootfs("")
                        .start())
                .as("\"\" unsets each")
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("No rootfs: ");
    }

    @Test
    @DisplayName("rootfs and image together are refused, naming both")
    void bothRootfsAndImage() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .image("busybox:1")
                        .start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage(
                        "Both rootfs(\"busybox.tar\") and image(\"busybox:1\") are set; give one: rootfs names a file, "
                                + "directory or resource, image names an image in a registry");
    }

    @Test
    @DisplayName(
            "a blob altered in the registry fails as a digest mismatch (layers downloaded in parallel), and nothing of it is stored")
    void tamperedBlob() throws Exception {
        byte[] layer = TestImages.layer(List.of("etc"), Map.of("etc/tampered", "original " + System.nanoTime() + "\n"));
        registry.push(
                TestOci.layout(dir.resolve("tampered"), "amd64", "{}", busybox, layer), "1.0", "library/tampered:1");
        String digest = TestOci.digest(TestOci.gzip(layer));
        Path data = registry.blobData(digest);
        byte[] altered = Files.readAllBytes(data);
        altered[altered.length / 2] ^= 1;
        Files.write(data, altered);
        Path cache = dir.resolve("cache");

        assertThatThrownBy(() -> puller(cache).pull(host + "/library/tampered:1"))
                .isInstanceOf(ImagePullException.class)
                .hasMessage("Image " + host + "/library/tampered:1: blob " + digest + " (layer 2 of 2) from " + host
                        + " does not match its digest: its content hashes to " + TestOci.digest(altered)
                        + "; it was not stored");
        String hex = digest.substring(7);
        assertThat(cache.resolve("blobs/sha256/" + hex)).doesNotExist();
        assertThat(cache.resolve("blobs/sha256/" + hex + ".partial")).doesNotExist();
        assertThat(cache.resolve("layouts")).isEmptyDirectory();
    }

    @Test
    @DisplayName(
            "an image store that cannot be written (a full disk) fails as an ImagePullException naming the blob, the directory and the fix")
    void fullStore() throws Exception {
        Path small = Files.createDirectories(dir.resolve("small"));
        Path dockerConfig = Files.createDirectories(dir.resolve("docker-config"));
        String mountFirst = "mount -t tmpfs -o size=64k isolated-full-store \"$0\" && exec \"$@\"";
        List<String> lines = FixtureRunner.runInChildJvm(
                List.of("unshare", "--mount", "--propagation", "private", "sh", "-c", mountFirst, small.toString()),
                List.of(
                        "-Dfull.store.dir=" + small,
                        "-Dfull.store.registry=" + host,
                        "-Dfull.store.docker.config=" + dockerConfig),
                FullStoreCase.class);

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
        try (var left = Files.list(small)) {
            assertThat(left).as("the small tmpfs was the child's alone").isEmpty();
        }
    }

    /** Pulls into an image store on a 64 KiB tmpfs, in a child JVM with a mount namespace of its own. */
    static class FullStoreCase {
        @Test
        void pullIntoAFullStore() {
            Path cache = Path.of(System.getProperty("full.store.dir", "")).resolve("cache");
            String registry = System.getProperty("full.store.registry", "");
            String dockerConfig = System.getProperty("full.store.docker.config", "");
            ImagePuller puller = new ImagePuller(
                    cache,
                    PullSettings.from(
                            key -> key.equals(IsolatedConfiguration.REGISTRY_INSECURE)
                                    ? Optional.of(registry)
                                    : Optional.empty(),
                            name -> name.equals("DOCKER_CONFIG") ? dockerConfig : null));
            String name = registry + "/library/busybox:1";
            assertThatThrownBy(() -> puller.pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessageStartingWith("Image " + name + ": blob sha256:")
                    .hasMessageContaining(" (layer 1 of 1) from " + registry + ": cannot store it in "
                            + cache.resolve("blobs/sha256") + ": ")
                    .hasMessageContaining("No space left on device")
                    .hasMessageEndingWith(". Make room there or make the directory writable, or choose another one "
                            + "with -Disolated.cache.dir=DIR or ISOLATED_CACHE_DIR=DIR");
            assertThat(cache.resolve("layouts")).isEmptyDirectory();
            try (var blobs = Files.list(cache.resolve("blobs/sha256"))) {
                assertThat(blobs.map(Path::toString))
                        .as("what arrived is kept for the next pull to resume")
                        .anyMatch(path -> path.endsWith(".partial"));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    @Test
    @DisplayName("isolated.pull=never with nothing stored fails saying so, for a tag and for a digest")
    void neverWithNothingStored() {
        Path cache = dir.resolve("cache");
        assertThatThrownBy(
                        () -> puller(cache, IsolatedConfiguration.PULL, "never").pull(host + "/library/busybox:1"))
                .isInstanceOf(ImagePullException.class)
                .hasMessage("Image " + host + "/library/busybox:1: it is not in the image store (no "
                        + cache.resolve("refs").resolve(host).resolve("library/busybox/1")
                        + ") and isolated.pull=never "
                        + "forbids fetching it; pull it once with isolated.pull=missing (the default)");
        String digest = "sha256:" + "ab".repeat(32);
        assertThatThrownBy(() ->
                        puller(cache, IsolatedConfiguration.PULL, "never").pull(host + "/library/busybox@" + digest))
                .as("pinned by digest")
                .isInstanceOf(ImagePullException.class)
                .hasMessage("Image " + host + "/library/busybox@" + digest + ": its manifest " + digest
                        + " is not in the image store and isolated.pull=never forbids fetching it; pull it once with "
                        + "isolated.pull=missing");
    }

    @Test
    @DisplayName("isolated.pull=never after a pull works with the registry stopped")
    void neverAfterPullOffline() throws Exception {
        Path cache = dir.resolve("cache");
        String name;
        Path pulled;
        try (LocalRegistry own = LocalRegistry.start(dir, dir.resolve("own-storage"))) {
            own.push(busyboxLayout, "1.0", "library/offline:1");
            name = own.host() + "/library/offline:1";
            pulled = puller(cache, IsolatedConfiguration.REGISTRY_INSECURE, own.host())
                    .pull(name);
        }
        Path offline = puller(cache, IsolatedConfiguration.PULL, "never").pull(name);
        assertThat(offline).isEqualTo(pulled);
        assertThat(puller(cache).pull(name))
                .as("missing: the stored image, no registry needed")
                .isEqualTo(pulled);
        String stopped = name.substring(0, name.indexOf('/'));
        assertThatThrownBy(() -> puller(dir.resolve("empty-cache"), IsolatedConfiguration.REGISTRY_INSECURE, stopped)
                        .pull(name))
                .isInstanceOf(ImagePullException.class)
                .hasMessageStartingWith(
                        "Image " + name + ": cannot reach http://" + stopped + ": java.net.ConnectException");
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(offline).start()) {
            assertIsBusybox(env);
        }
    }

    @Test
    @DisplayName("isolated.pull=always looks a stored tag up with HEAD (no manifest GET), and fetches a moved tag")
    void alwaysRevalidates() throws Exception {
        Path first = TestOci.layout(
                dir.resolve("first"),
                "amd64",
                "{}",
                TestImages.layer(List.of("etc"), Map.of("etc/version", "1 " + System.nanoTime() + "\n")));
        Path second = TestOci.layout(
                dir.resolve("second"),
                "amd64",
                "{}",
                TestImages.layer(List.of("etc"), Map.of("etc/version", "2 " + System.nanoTime() + "\n")));
        registry.push(first, "1.0", "library/moving:1");
        Path cache = dir.resolve("cache");
        String name = host + "/library/moving:1";
        String manifestPath = "/v2/library/moving/manifests/1";
        Path pulled = puller(cache, IsolatedConfiguration.PULL, "always").pull(name);
        assertThat(registry.requests("GET", manifestPath, 200)).isEqualTo(1);

        assertThat(puller(cache, IsolatedConfiguration.PULL, "always").pull(name))
                .isEqualTo(pulled);
        assertThat(registry.requests("GET", manifestPath, 200)).isEqualTo(1);
        assertThat(registry.requests("HEAD", manifestPath, 200)).isEqualTo(1);

        registry.push(second, "1.0", "library/moving:1");
        assertThat(puller(cache, IsolatedConfiguration.PULL, "missing").pull(name))
                .as("missing keeps the stored tag")
                .isEqualTo(pulled);
        Path moved = puller(cache, IsolatedConfiguration.PULL, "always").pull(name);
        assertThat(moved).isNotEqualTo(pulled);
        assertThat(Files.readString(moved.resolve("index.json"))).contains(registry.head("library/moving", "1")[0]);
    }

    @Test
    @DisplayName("two JVMs pulling the same image at once download each blob once")
    void twoJvms() throws Exception {
        byte[] unique = TestImages.layer(List.of("etc"), Map.of("etc/twice", "jvm " + System.nanoTime() + "\n"));
        Path layout = TestOci.layout(dir.resolve("twice"), "amd64", RUN_CONFIG, busybox, unique);
        registry.push(layout, "1.0", "library/twice:1");
        Path cache = dir.resolve("shared-cache");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> jvms = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            jvms.add(new ProcessBuilder(
                            java,
                            "-cp",
                            System.getProperty("java.class.path"),
                            "dev.isolated.internal.registry.PullMain",
                            cache.toString(),
                            host + "/library/twice:1",
                            host)
                    .redirectErrorStream(true)
                    .start());
        }
        List<String> outputs = new ArrayList<>();
        for (Process jvm : jvms) {
            String output = new String(jvm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(jvm.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(jvm.exitValue()).as(output).isZero();
            outputs.add(output.strip().lines().reduce((first, second) -> second).orElse(""));
        }
        assertThat(outputs.get(0)).isEqualTo(outputs.get(1));
        List<String> blobs =
                new ArrayList<>(List.of(TestOci.digest(TestOci.gzip(busybox)), TestOci.digest(TestOci.gzip(unique))));
        String manifest =
                Files.readString(layout.resolve("index.json")).replaceAll(".*\"(sha256:[0-9a-f]{64})\".*", "$1");
        String configDigest = Files.readString(layout.resolve("blobs/sha256/" + manifest.substring(7)))
                .replaceAll(".*\"config\":\\{[^}]*\"digest\":\"(sha256:[0-9a-f]{64})\".*", "$1");
        blobs.add(configDigest);
        for (String blob : blobs) {
            assertThat(registry.requests("GET", "/v2/library/twice/blobs/" + blob, 200))
                    .as(blob)
                    .isEqualTo(1);
        }
    }

    @Test
    @DisplayName("a partial blob left by a killed download is resumed with a Range request, and verified")
    void resumesPartialBlob() throws Exception {
        byte[] unique = TestImages.layer(List.of("etc"), Map.of("etc/resume", "resume " + System.nanoTime() + "\n"));
        registry.push(
                TestOci.layout(dir.resolve("resume"), "amd64", RUN_CONFIG, busybox, unique), "1.0", "library/resume:1");
        Path cache = dir.resolve("cache");
        byte[] layer = TestOci.gzip(busybox);
        String digest = TestOci.digest(layer);
        Path partial = Files.createDirectories(cache.resolve("blobs/sha256")).resolve(digest.substring(7) + ".partial");
        Files.write(partial, java.util.Arrays.copyOf(layer, layer.length / 2));
        String blobPath = "/v2/library/resume/blobs/" + digest;
        long wholeBefore = registry.requests("GET", blobPath, 200);

        puller(cache).pull(host + "/library/resume:1");

        assertThat(registry.requests("GET", blobPath, 206)).isEqualTo(1);
        assertThat(registry.requests("GET", blobPath, 200)).isEqualTo(wholeBefore);
        assertThat(cache.resolve("blobs/sha256/" + digest.substring(7))).hasBinaryContent(layer);
        assertThat(partial).doesNotExist();
    }

    @Test
    @DisplayName("a partial blob that is not the blob's beginning is thrown away and the blob downloaded whole")
    void restartsBadPartialBlob() throws Exception {
        byte[] unique = TestImages.layer(List.of("etc"), Map.of("etc/restart", "restart " + System.nanoTime() + "\n"));
        registry.push(TestOci.layout(dir.resolve("restart"), "amd64", "{}", unique), "1.0", "library/restart:1");
        Path cache = dir.resolve("cache");
        byte[] layer = TestOci.gzip(unique);
        String digest = TestOci.digest(layer);
        Path partial = Files.createDirectories(cache.resolve("blobs/sha256")).resolve(digest.substring(7) + ".partial");
        Files.write(partial, new byte[layer.length / 2]);

        puller(cache).pull(host + "/library/restart:1");

        assertThat(registry.requests("GET", "/v2/library/restart/blobs/" + digest, 200))
                .isEqualTo(1);
        assertThat(cache.resolve("blobs/sha256/" + digest.substring(7))).hasBinaryContent(layer);
    }

    @Test
    @DisplayName("basic auth (htpasswd): the right credentials pull, wrong ones fail naming which were tried")
    void basicAuth() throws Exception {
        try (LocalRegistry basic =
                LocalRegistry.startWithBasicAuth(dir.resolve("basic"), registry.storage(), "alice", "s3cret")) {
            String name = basic.host() + "/library/busybox:1";
            puller(
                            dir.resolve("cache"),
                            IsolatedConfiguration.REGISTRY_INSECURE,
                            basic.host(),
                            IsolatedConfiguration.REGISTRY_USERNAME,
                            "alice",
                            IsolatedConfiguration.REGISTRY_PASSWORD,
                            "s3cret")
                    .pull(name);

            assertThatThrownBy(() -> puller(
                                    dir.resolve("cache2"),
                                    IsolatedConfiguration.REGISTRY_INSECURE,
                                    basic.host(),
                                    IsolatedConfiguration.REGISTRY_USERNAME,
                                    "alice",
                                    IsolatedConfiguration.REGISTRY_PASSWORD,
                                    "wrong")
                            .pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage("Image " + name + ": " + basic.host() + " refused access (HTTP 401 UNAUTHORIZED: "
                            + "authentication required); credentials tried: isolated.registry.username (user 'alice'). Check the "
                            + "name, then set isolated.registry.username and isolated.registry.password (or "
                            + "ISOLATED_REGISTRY_USERNAME and ISOLATED_REGISTRY_PASSWORD), DOCKER_AUTH_CONFIG, or log in with "
                            + "docker login");
            assertThatThrownBy(
                            () -> puller(dir.resolve("cache3"), IsolatedConfiguration.REGISTRY_INSECURE, basic.host())
                                    .pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessageStartingWith(
                            "Image " + name + ": " + basic.host() + " refused access (HTTP 401 UNAUTHORIZED: "
                                    + "authentication required): it asks for a user and password (Basic auth); credentials tried: "
                                    + noCredentials() + ". ");
        }
    }

    @Test
    @DisplayName("Docker credentials that cannot be read fail the pull with a message starting 'Image <name>: ', as "
            + "every pull failure's does")
    void unreadableCredentials() throws Exception {
        Path dockerConfig = Files.createDirectories(dir.resolve("docker-config"));
        String name = host + "/library/busybox:1";
        ImagePuller.forgetResolvedTags();
        assertThatThrownBy(() -> new ImagePuller(
                                dir.resolve("cache"), PullSettings.from(configuration(), variable -> switch (variable) {
                                    case "DOCKER_CONFIG" -> dockerConfig.toString();
                                    case "DOCKER_AUTH_CONFIG" -> "{\"auths\":";
                                    default -> null;
                                }))
                        .pull(name))
                .isInstanceOf(ImagePullException.class)
                .hasMessageStartingWith(
                        "Image " + name + ": cannot read the Docker credentials in DOCKER_AUTH_CONFIG: ");
        Files.writeString(dockerConfig.resolve("config.json"), "{\"credsStore\":\"../evil\"}");
        assertThatThrownBy(() -> puller(dir.resolve("cache")).pull(name))
                .isInstanceOf(ImagePullException.class)
                .hasMessage("Image " + name + ": the credential helper '../evil' (credsStore in "
                        + dockerConfig.resolve("config.json") + ") is not a valid name");
    }

    @Test
    @DisplayName("basic auth with the auths entry of $DOCKER_CONFIG/config.json")
    void dockerConfigAuths() throws Exception {
        try (LocalRegistry basic =
                LocalRegistry.startWithBasicAuth(dir.resolve("basic"), registry.storage(), "bob", "pw")) {
            Path dockerConfig = Files.createDirectories(dir.resolve("docker-config"));
            Files.writeString(
                    dockerConfig.resolve("config.json"),
                    "{\"auths\":{\"http://" + basic.host() + "/v1/\":{\"auth\":\""
                            + Base64.getEncoder().encodeToString("bob:pw".getBytes(StandardCharsets.UTF_8)) + "\"}}}");
            puller(dir.resolve("cache"), IsolatedConfiguration.REGISTRY_INSECURE, basic.host())
                    .pull(basic.host() + "/library/busybox:1");
        }
    }

    @Test
    @DisplayName(
            "bearer tokens (WWW-Authenticate: Bearer, a token endpoint): the right credentials pull, wrong ones fail")
    void bearerToken() throws Exception {
        try (TokenServer tokens = new TokenServer(dir.resolve("token"), "carol", "t0ken");
                LocalRegistry bearer =
                        LocalRegistry.startWithTokens(dir.resolve("token"), registry.storage(), tokens)) {
            String name = bearer.host() + "/library/busybox:1";
            String insecure = bearer.host() + "," + tokens.host();
            puller(
                            dir.resolve("cache"),
                            IsolatedConfiguration.REGISTRY_INSECURE,
                            insecure,
                            IsolatedConfiguration.REGISTRY_USERNAME,
                            "carol",
                            IsolatedConfiguration.REGISTRY_PASSWORD,
                            "t0ken")
                    .pull(name);
            assertThat(tokens.authorizations()).isNotEmpty().allMatch(auth -> auth.startsWith("Basic "));

            assertThatThrownBy(() -> puller(
                                    dir.resolve("cache2"),
                                    IsolatedConfiguration.REGISTRY_INSECURE,
                                    insecure,
                                    IsolatedConfiguration.REGISTRY_USERNAME,
                                    "carol",
                                    IsolatedConfiguration.REGISTRY_PASSWORD,
                                    "nope")
                            .pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessageStartingWith(
                            "Image " + name + ": the token server " + tokens.realm() + " of " + bearer.host()
                                    + " refused the credentials (HTTP 401 UNAUTHORIZED: wrong user or password); credentials tried: "
                                    + "isolated.registry.username (user 'carol'). ");
            assertThatThrownBy(() -> puller(dir.resolve("cache3"), IsolatedConfiguration.REGISTRY_INSECURE, insecure)
                            .pull(name))
                    .as("an anonymous token grants nothing here: the registry answers insufficient_scope")
                    .isInstanceOf(ImagePullException.class)
                    .hasMessageStartingWith(
                            "Image " + name + ": " + bearer.host() + " refused access (HTTP 401 UNAUTHORIZED: "
                                    + "authentication required); credentials tried: " + noCredentials() + ". ");
        }
    }

    @Test
    @DisplayName("an identity token (config.json's identitytoken) is exchanged for a Bearer token with an OAuth2 POST "
            + "(grant_type=refresh_token); a wrong one fails naming the source")
    void identityToken() throws Exception {
        try (TokenServer tokens = new TokenServer(dir.resolve("token"), "erin", "unused");
                LocalRegistry bearer =
                        LocalRegistry.startWithTokens(dir.resolve("token"), registry.storage(), tokens)) {
            tokens.refreshToken("refresh-erin-1");
            String name = bearer.host() + "/library/busybox:1";
            String insecure = bearer.host() + "," + tokens.host();
            Path dockerConfig = Files.createDirectories(dir.resolve("docker-config"));
            Path configFile = dockerConfig.resolve("config.json");
            Files.writeString(
                    configFile,
                    "{\"auths\":{\"" + bearer.host() + "\":{\"auth\":\"\","
                            + "\"identitytoken\":\"refresh-erin-1\"}}}");

            Path layout = puller(dir.resolve("cache"), IsolatedConfiguration.REGISTRY_INSECURE, insecure)
                    .pull(name);

            assertThat(Files.readString(layout.resolve("index.json")))
                    .contains(registry.head("library/busybox", "1")[0]);
            assertThat(tokens.authorizations())
                    .as("no GET with Basic credentials")
                    .isEmpty();
            assertThat(tokens.oauthForms())
                    .isNotEmpty()
                    .allSatisfy(form -> assertThat(form)
                            .containsExactlyInAnyOrderEntriesOf(Map.of(
                                    "grant_type",
                                    "refresh_token",
                                    "refresh_token",
                                    "refresh-erin-1",
                                    "service",
                                    "isolated-test-registry",
                                    "scope",
                                    "repository:library/busybox:pull",
                                    "client_id",
                                    "isolated")));

            Files.writeString(configFile, "{\"auths\":{\"" + bearer.host() + "\":{\"identitytoken\":\"revoked\"}}}");
            assertThatThrownBy(() -> puller(dir.resolve("cache2"), IsolatedConfiguration.REGISTRY_INSECURE, insecure)
                            .pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessageStartingWith(
                            "Image " + name + ": the token server " + tokens.realm() + " of " + bearer.host()
                                    + " refused the credentials (HTTP 400 invalid_grant); credentials tried: auths entry '"
                                    + bearer.host() + "' in " + configFile + " (identity token). ");
        }
    }

    @Test
    @DisplayName("HTTP_PROXY from the environment: a registry that is not loopback is reached through the proxy; "
            + "a loopback registry is reached directly")
    void proxyFromEnvironment() throws Exception {
        int registryPort = Integer.parseInt(host.substring(host.lastIndexOf(':') + 1));
        String proxied = "proxied.invalid:5000"; // never resolved: only the proxy is connected to
        Path dockerConfig = Files.createDirectories(dir.resolve("docker-config"));
        try (ForwardProxy proxy = new ForwardProxy(registryPort)) {
            Map<String, String> environment =
                    Map.of("HTTP_PROXY", "http://127.0.0.1:" + proxy.port(), "DOCKER_CONFIG", dockerConfig.toString());
            ImagePuller.forgetResolvedTags();
            Path layout = new ImagePuller(
                            dir.resolve("cache"),
                            PullSettings.from(
                                    configuration(IsolatedConfiguration.REGISTRY_INSECURE, proxied), environment::get))
                    .pull(proxied + "/library/busybox:1");

            assertThat(Files.readString(layout.resolve("index.json")))
                    .contains(registry.head("library/busybox", "1")[0]);
            assertThat(proxy.requestLines())
                    .isNotEmpty()
                    .allMatch(
                            line -> line.matches("(GET|HEAD) http://" + proxied + "/v2/library/busybox/\\S+ HTTP/1.1"));

            int before = proxy.requestLines().size();
            ImagePuller.forgetResolvedTags();
            new ImagePuller(dir.resolve("cache2"), PullSettings.from(configuration(), environment::get))
                    .pull(host + "/library/busybox:1");
            assertThat(proxy.requestLines()).as("loopback is never proxied").hasSize(before);
        }
    }

    @Test
    @DisplayName("a redirect to another host is followed without the Authorization header")
    void redirectDropsAuthorization() throws Exception {
        Path layout = TestOci.layout(
                dir.resolve("redirect"),
                "amd64",
                "{}",
                TestImages.layer(List.of("etc"), Map.of("etc/redirect", "yes\n")));
        String manifestDigest =
                Files.readString(layout.resolve("index.json")).replaceAll(".*\"(sha256:[0-9a-f]{64})\".*", "$1");
        String expected = "Basic " + Base64.getEncoder().encodeToString("dave:pw".getBytes(StandardCharsets.UTF_8));
        List<String> storageAuthorizations = new ArrayList<>();
        List<String> registryAuthorizations = new ArrayList<>();
        HttpServer storage = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        storage.createContext("/", exchange -> {
            synchronized (storageAuthorizations) {
                storageAuthorizations.add(
                        String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
            }
            String digest = exchange.getRequestURI().getPath().substring("/blob/".length());
            byte[] blob = Files.readAllBytes(layout.resolve("blobs/sha256/" + digest.substring(7)));
            exchange.sendResponseHeaders(200, blob.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(blob);
            }
        });
        storage.start();
        HttpServer fake = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        String storageHost = "127.0.0.1:" + storage.getAddress().getPort();
        fake.createContext("/", exchange -> {
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            synchronized (registryAuthorizations) {
                registryAuthorizations.add(String.valueOf(auth));
            }
            String path = exchange.getRequestURI().getPath();
            if (!expected.equals(auth)) {
                exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"fake\"");
                exchange.sendResponseHeaders(401, -1);
            } else if (path.contains("/manifests/")) {
                byte[] manifest = Files.readAllBytes(layout.resolve("blobs/sha256/" + manifestDigest.substring(7)));
                exchange.getResponseHeaders().add("Content-Type", "application/vnd.oci.image.manifest.v1+json");
                exchange.sendResponseHeaders(200, manifest.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(manifest);
                }
            } else {
                exchange.getResponseHeaders()
                        .add(
                                "Location",
                                "http://" + storageHost + "/blob/" + path.substring(path.lastIndexOf('/') + 1));
                exchange.sendResponseHeaders(307, -1);
            }
            exchange.close();
        });
        fake.start();
        try {
            String fakeHost = "127.0.0.1:" + fake.getAddress().getPort();
            puller(
                            dir.resolve("cache"),
                            IsolatedConfiguration.REGISTRY_INSECURE,
                            fakeHost + "," + storageHost,
                            IsolatedConfiguration.REGISTRY_USERNAME,
                            "dave",
                            IsolatedConfiguration.REGISTRY_PASSWORD,
                            "pw")
                    .pull(fakeHost + "/library/redirected:1");
            assertThat(registryAuthorizations).contains(expected);
            assertThat(storageAuthorizations).hasSize(2).containsOnly("null");

            assertThatThrownBy(() -> puller(
                                    dir.resolve("cache2"),
                                    IsolatedConfiguration.REGISTRY_INSECURE,
                                    fakeHost,
                                    IsolatedConfiguration.REGISTRY_USERNAME,
                                    "dave",
                                    IsolatedConfiguration.REGISTRY_PASSWORD,
                                    "pw")
                            .pull(fakeHost + "/library/redirected:1"))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessageStartingWith("Image " + fakeHost + "/library/redirected:1: refused a redirect from "
                            + fakeHost + " to http://" + storageHost + "/blob/sha256:")
                    .hasMessageEndingWith(": only https is used, and plain http only for the registries listed in "
                            + "isolated.registry.insecure (" + storageHost + " is not)");
        } finally {
            fake.stop(0);
            storage.stop(0);
        }
    }

    @Test
    @DisplayName("an http mirror not listed in isolated.registry.insecure is refused before any request")
    void httpMirrorNotListed() {
        assertThatThrownBy(() -> puller(
                                dir.resolve("cache"),
                                IsolatedConfiguration.REGISTRY_INSECURE,
                                "",
                                IsolatedConfiguration.REGISTRY_MIRROR,
                                "http://127.0.0.1:9")
                        .pull("busybox:1"))
                .isInstanceOf(ImagePullException.class)
                .hasMessage(
                        "Image busybox:1: refused the mirror http://127.0.0.1:9 (isolated.registry.mirror): only https is "
                                + "used, and plain http only for the registries listed in isolated.registry.insecure (127.0.0.1:9 is not)");
    }

    @Test
    @DisplayName("HTTP 429 fails naming the rate limit and the mirror key, after retrying as Retry-After says")
    void rateLimited() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            byte[] body =
                    "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"You have reached your pull rate limit\"}]}"
                            .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Retry-After", "0");
            exchange.getResponseHeaders().add("ratelimit-remaining", "0;w=21600");
            exchange.sendResponseHeaders(429, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        try {
            String fake = "127.0.0.1:" + server.getAddress().getPort();
            String name = fake + "/library/busybox:1";
            assertThatThrownBy(() -> puller(dir.resolve("cache"), IsolatedConfiguration.REGISTRY_INSECURE, fake)
                            .pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage(
                            "Image " + name + ": " + fake
                                    + " limits the rate of pulls (HTTP 429 TOOMANYREQUESTS: You have "
                                    + "reached your pull rate limit; ratelimit-remaining: 0;w=21600; retry-after: 0), still after 3 "
                                    + "attempts. Log in for a higher limit (credentials tried: " + noCredentials()
                                    + "), or pull "
                                    + "docker.io images through a mirror: set isolated.registry.mirror (e.g. https://mirror.gcr.io)");
        } finally {
            server.stop(0);
        }
    }

    @Test
    @DisplayName("a name that is not valid is refused by builder().image(...) before anything is pulled, "
            + "and fails an @Isolated(image = ...) test naming the annotation")
    void invalidName() {
        String why = "the repository path 'team/App' has the component 'App'; components are lowercase letters and "
                + "digits, joined by . _ __ or -. Write it as Docker does: postgres:16, ghcr.io/org/app:1.4, "
                + "127.0.0.1:5000/team/app@sha256:<hex>";
        assertThatThrownBy(() -> IsolatedEnvironment.builder().image("team/App:1"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Image name 'team/App:1' is not valid: " + why);
        assertThatThrownBy(() -> IsolatedEnvironment.builder().image("busybox@sha256:12"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Image name 'busybox@sha256:12' is not valid: the digest 'sha256:12' is not "
                        + "sha256:<64 lowercase hex digits>. Write it as Docker does: ");

        String annotationMessage = "@Isolated(image = \"team/App:1\"): Image name 'team/App:1' is not valid: " + why;
        EngineRunner.run(InvalidNameCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("method"),
                                finishedWithFailure(
                                        instanceOf(ExtensionConfigurationException.class), message(annotationMessage))))
                .haveExactly(
                        1,
                        event(
                                test("parameter"),
                                finishedWithFailure(
                                        instanceOf(org.junit.jupiter.api.extension.ParameterResolutionException.class),
                                        message(m -> m.endsWith(": " + annotationMessage)))));
    }

    /** A test whose annotation names an image that is not valid. */
    static class InvalidNameCase {
        @Test
        @Isolated(image = "team/App:1")
        void method(IsolatedEnvironment env) {}

        @Test
        void parameter(@Isolated(image = "team/App:1") IsolatedEnvironment env) {}
    }

    @Test
    @DisplayName(
            "HTTP 500 and 503 are tried 3 times in all, waiting as Retry-After says: a registry that recovers is pulled "
                    + "from, one that does not fails the test naming the answer")
    void serverErrors() throws Exception {
        byte[] layer = TestImages.layer(List.of("etc"), Map.of("etc/retried", "retried " + System.nanoTime() + "\n"));
        try (FakeRegistry fake =
                new FakeRegistry(TestOci.layout(dir.resolve("retried"), "amd64", RUN_CONFIG, busybox, layer))) {
            Function<String, Optional<String>> insecure = key ->
                    key.equals(IsolatedConfiguration.REGISTRY_INSECURE) ? Optional.of(fake.host()) : Optional.empty();
            fake.manifestFailures.set(2);
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .image(fake.host() + "/team/recovers:1")
                    .configuration(insecure)
                    .start()) {
                assertThat(env.exec("cat", "/etc/retried")).succeeded().stdout().startsWith("retried ");
            }
            assertThat(fake.manifestRequests).hasValue(3);

            fake.manifestRequests.set(0);
            fake.manifestFailures.set(3);
            fake.failureStatus = 503;
            String name = fake.host() + "/team/down:1";
            assertThatThrownBy(() -> IsolatedEnvironment.builder()
                            .image(name)
                            .configuration(insecure)
                            .start())
                    .isInstanceOf(dev.isolated.image.ImageException.class)
                    .hasMessage("Image " + name + ": " + fake.host() + " answered HTTP 503 UNKNOWN: unknown error to "
                            + "GET manifest 1, still after 3 attempts");
            assertThat(fake.manifestRequests).hasValue(3);
        }
    }

    @Test
    @DisplayName("a blob whose connection drops before its end fails naming the blob and the bytes that arrived, "
            + "kept for the next pull")
    void truncatedBlob() throws Exception {
        byte[] layer = TestImages.layer(List.of("etc"), Map.of("etc/cut", "cut " + System.nanoTime() + "\n"));
        try (FakeRegistry fake = new FakeRegistry(TestOci.layout(dir.resolve("cut"), "amd64", RUN_CONFIG, layer))) {
            fake.truncateBlobs = true;
            Path cache = dir.resolve("cache");
            String name = fake.host() + "/team/cut:1";
            Throwable failure = org.assertj.core.api.Assertions.catchThrowable(
                    () -> puller(cache, IsolatedConfiguration.REGISTRY_INSECURE, fake.host())
                            .pull(name));
            assertThat(failure).isInstanceOf(ImagePullException.class);
            java.util.regex.Matcher message = java.util.regex.Pattern.compile("Image "
                            + java.util.regex.Pattern.quote(name)
                            + ": blob sha256:([0-9a-f]{64}) \\((config|layer 1 of 1)\\) "
                            + "from " + java.util.regex.Pattern.quote(fake.host())
                            + ": the download broke off after ([0-9]+) of ([0-9]+) bytes \\(java.io.IOException: closed\\); "
                            + "they are kept in (.*) and the next pull resumes from there")
                    .matcher(failure.getMessage());
            assertThat(message.matches()).as(failure.getMessage()).isTrue();
            Path partial = cache.resolve("blobs/sha256/" + message.group(1) + ".partial");
            assertThat(message.group(5)).isEqualTo(partial.toString());
            assertThat(Long.parseLong(message.group(3))).isEqualTo(Long.parseLong(message.group(4)) / 2);
            assertThat(partial).hasSize(Long.parseLong(message.group(3)));
            assertThat(cache.resolve("blobs/sha256/" + message.group(1))).doesNotExist();
        }
    }

    @Test
    @DisplayName("four threads starting environments of one image at once download each of its blobs once")
    void parallelThreads() throws Exception {
        byte[] layer = TestImages.layer(List.of("etc"), Map.of("etc/shared", "shared " + System.nanoTime() + "\n"));
        try (FakeRegistry fake = new FakeRegistry(TestOci.layout(dir.resolve("shared"), "amd64", RUN_CONFIG, layer))) {
            fake.blobPauseMillis = 300; // every download is still running when the other threads ask for its blob
            String name = fake.host() + "/team/shared:1";
            List<java.util.concurrent.Future<String>> starts = new ArrayList<>();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                for (int i = 0; i < 4; i++) {
                    starts.add(pool.submit(() -> {
                        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                                .image(name)
                                .configuration(key -> key.equals(IsolatedConfiguration.REGISTRY_INSECURE)
                                        ? Optional.of(fake.host())
                                        : Optional.empty())
                                .start()) {
                            return env.readString("/etc/shared");
                        }
                    }));
                }
                for (java.util.concurrent.Future<String> start : starts) {
                    assertThat(start.get(120, TimeUnit.SECONDS)).startsWith("shared ");
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(fake.blobRequests).as("the layer and the config").hasValue(2);
        }
    }

    @Test
    @DisplayName("a one-component name is docker.io/library/<name>: busybox:1, docker.io/busybox:1 and "
            + "index.docker.io/library/busybox:1 are one image, pulled through isolated.registry.mirror")
    void dockerHubNames() throws Exception {
        for (String name : List.of("busybox:1", "docker.io/busybox:1", "index.docker.io/library/busybox:1")) {
            try (IsolatedEnvironment env =
                    IsolatedEnvironment.builder().image(name).start()) {
                assertIsBusybox(env);
            }
        }
        assertThat(registry.requests("GET", "/v2/busybox/manifests/1", 404)
                        + registry.requests("GET", "/v2/busybox/manifests/1", 200))
                .as("never asked for without library/")
                .isZero();
    }

    @Test
    @DisplayName("isolated.pull=always looks a tag up once per run (per JVM): a tag that moves later in the run "
            + "keeps the digest it had, and is not asked for again")
    void alwaysOncePerRun() throws Exception {
        String repository = "library/once-" + System.nanoTime();
        registry.push(version(dir.resolve("first"), "1"), "1.0", repository + ":1");
        String name = host + "/" + repository + ":1";
        String manifestPath = "/v2/" + repository + "/manifests/1";
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .image(name)
                .configuration(configuration(IsolatedConfiguration.PULL, "always"))
                .start()) {
            assertThat(env.readString("/etc/version")).startsWith("1 ");
        }
        assertThat(registry.requests("GET", manifestPath, 200)).isEqualTo(1);
        registry.push(version(dir.resolve("second"), "2"), "1.0", repository + ":1");
        long gets = registry.requests("GET", manifestPath, 200);
        long heads = registry.requests("HEAD", manifestPath, 200);
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .image(name)
                .configuration(configuration(IsolatedConfiguration.PULL, "always"))
                .start()) {
            assertThat(env.readString("/etc/version"))
                    .as("the digest of this run")
                    .startsWith("1 ");
        }
        assertThat(registry.requests("GET", manifestPath, 200)).isEqualTo(gets);
        assertThat(registry.requests("HEAD", manifestPath, 200)).isEqualTo(heads);
    }

    private static Path version(Path layout, String version) throws IOException {
        return TestOci.layout(
                layout,
                "amd64",
                "{}",
                TestImages.layer(List.of("etc"), Map.of("etc/version", version + " " + System.nanoTime() + "\n")));
    }

    @Test
    @DisplayName("a name without a tag is :latest")
    void noTagIsLatest() throws Exception {
        String repository = "library/untagged-" + System.nanoTime();
        registry.push(version(dir.resolve("latest"), "latest"), "1.0", repository + ":latest");
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .image(host + "/" + repository)
                .configuration(configuration())
                .start()) {
            assertThat(env.readString("/etc/version")).startsWith("latest ");
        }
    }
}
