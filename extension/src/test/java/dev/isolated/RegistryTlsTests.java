package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.internal.image.TestImages;
import dev.isolated.internal.registry.ImagePullException;
import dev.isolated.internal.registry.LocalRegistry;
import dev.isolated.internal.registry.TlsCertificate;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README, Images by name: "HTTPS always, with the JVM's trust store". Debian's docker-registry serves busybox over
 * TLS on 127.0.0.1 with a self-signed certificate the test makes; no name is listed in
 * {@code isolated.registry.insecure}. A JVM that trusts the certificate ({@code -Djavax.net.ssl.trustStore}, read
 * once per JVM, so in a child JVM) pulls and runs the image; this one, which does not, fails naming the fix.
 */
@DisplayName("Images by name from a registry served over HTTPS")
class RegistryTlsTests {

    private static final String RUN_CONFIG = "{\"Env\":[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\",\"GREETING=over-tls\"]}";

    private static Path work;
    private static TlsCertificate certificate;
    private static LocalRegistry registry;

    @BeforeAll
    static void startRegistry() throws Exception {
        work = Files.createTempDirectory("isolated-registry-tls-tests-");
        certificate = TlsCertificate.create(work.resolve("tls"));
        registry = LocalRegistry.startWithTls(work, work.resolve("storage"), certificate);
        byte[] busybox;
        try (InputStream in = RegistryTlsTests.class.getResourceAsStream("/busybox.tar")) {
            busybox = in.readAllBytes();
        }
        Path layout = TestImages.ociLayout(Files.createDirectory(work.resolve("busybox")), RUN_CONFIG, busybox);
        registry.push(layout, "1.0", "isolated-test/busybox:tls");
    }

    @AfterAll
    static void stopRegistry() throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (work != null) {
            try (var paths = Files.walk(work)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(path);
                }
            }
        }
    }

    private static String image() {
        return registry.host() + "/isolated-test/busybox:tls";
    }

    @Test
    @DisplayName("with the certificate in the JVM's trust store (-Djavax.net.ssl.trustStore), the image is pulled over "
            + "HTTPS and the environment runs a command from it")
    void trustedCertificate(@TempDir Path dir) throws Exception {
        List<String> lines = FixtureRunner.runInChildJvm(
                List.of(),
                List.of(
                        "-Djavax.net.ssl.trustStore=" + certificate.trustStore(),
                        "-Djavax.net.ssl.trustStorePassword=" + TlsCertificate.TRUST_STORE_PASSWORD,
                        "-Djavax.net.ssl.trustStoreType=PKCS12",
                        "-D" + IsolatedConfiguration.CACHE_DIR + "=" + dir.resolve("cache"),
                        "-Dtls.image=" + image()),
                TrustedCase.class);

        assertThat(lines).containsExactly("SUCCESSFUL\t");
        assertThat(registry.requests("GET", "/v2/isolated-test/busybox/manifests/tls", 200))
                .as("the manifest was fetched from the registry over HTTPS")
                .isPositive();
    }

    /** Pulls {@code -Dtls.image} with nothing but the JVM's own settings. */
    static class TrustedCase {
        @Test
        void pullAndRun() {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .image(System.getProperty("tls.image", ""))
                    .start()) {
                assertThat(env.exec("sh", "-c", "echo $GREETING"))
                        .succeeded()
                        .stdout()
                        .isEqualTo("over-tls\n");
            }
        }
    }

    @Test
    @DisplayName("without the certificate trusted, the pull fails naming the registry and the fixes")
    void untrustedCertificate() {
        String name = image();
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .image(name)
                        .configuration(key -> Optional.empty())
                        .start())
                .isInstanceOf(ImagePullException.class)
                .hasMessageStartingWith(
                        "Image " + name + ": cannot reach https://" + registry.host()
                                + ": the TLS handshake failed (javax.net.ssl.SSLHandshakeException: PKIX path building failed: ")
                .hasMessageEndingWith(")" + tlsHint(registry.host()));
    }

    @Test
    @DisplayName("a registry that serves plain HTTP and is not listed in isolated.registry.insecure fails the same way")
    void plainHttpNotListed(@TempDir Path dir) throws Exception {
        try (LocalRegistry plain = LocalRegistry.start(dir.resolve("plain"), registry.storage())) {
            String name = plain.host() + "/isolated-test/busybox:tls";
            assertThatThrownBy(() -> IsolatedEnvironment.builder()
                            .image(name)
                            .configuration(key -> Optional.empty())
                            .start())
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage("Image " + name + ": cannot reach https://" + plain.host()
                            + ": the TLS handshake failed (javax.net.ssl.SSLException: Unrecognized SSL message, plaintext "
                            + "connection?)"
                            + tlsHint(plain.host()));
        }
    }

    /** The end of the message of a failed TLS handshake (README, What errors mean). */
    private static String tlsHint(String hostAndPort) {
        return ". If the registry's certificate is not trusted, add it (or its CA's) to the "
                + "JVM's trust store, e.g. with keytool -importcert -cacerts, or give one with "
                + "-Djavax.net.ssl.trustStore=FILE; if it serves plain HTTP, list " + hostAndPort
                + " in isolated.registry.insecure";
    }
}
