package dev.isolated.internal.registry;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A self-signed certificate for {@code 127.0.0.1} (its subject alternative name), made with {@code openssl req -x509}
 * for a registry served over TLS, and a PKCS12 trust store holding it ({@code keytool -importcert}) for a JVM's
 * {@code -Djavax.net.ssl.trustStore}.
 */
public final class TlsCertificate {

    /** The trust store's password. */
    public static final String TRUST_STORE_PASSWORD = "changeit";

    private final Path certificate;
    private final Path key;
    private final Path trustStore;

    private TlsCertificate(Path certificate, Path key, Path trustStore) {
        this.certificate = certificate;
        this.key = key;
        this.trustStore = trustStore;
    }

    /** Makes the certificate, its key and the trust store in {@code work}. */
    public static TlsCertificate create(Path work) throws Exception {
        Files.createDirectories(work);
        Path certificate = work.resolve("registry.crt");
        Path key = work.resolve("registry.key");
        Path trustStore = work.resolve("truststore.p12");
        selfSigned(work, key, certificate, "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1");
        LocalRegistry.run(
                work,
                "keytool",
                "-importcert",
                "-noprompt",
                "-alias",
                "isolated-test-registry",
                "-file",
                certificate.toString(),
                "-keystore",
                trustStore.toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                TRUST_STORE_PASSWORD);
        return new TlsCertificate(certificate, key, trustStore);
    }

    /** Makes an RSA key and a self-signed certificate for it, valid 2 days, both PEM, with {@code openssl req -x509}. */
    static void selfSigned(Path work, Path key, Path certificate, String subject, String... options) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                key.toString(),
                "-out",
                certificate.toString(),
                "-days",
                "2",
                "-subj",
                subject));
        command.addAll(List.of(options));
        LocalRegistry.run(work, command.toArray(String[]::new));
    }

    /** The certificate, PEM. */
    public Path certificate() {
        return certificate;
    }

    /** Its private key, PEM. */
    public Path key() {
        return key;
    }

    /** A PKCS12 trust store holding only the certificate, its password {@link #TRUST_STORE_PASSWORD}. */
    public Path trustStore() {
        return trustStore;
    }

    /** A context that trusts the certificate only, for the test's own requests. */
    SSLContext sslContext() throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        try (InputStream in = Files.newInputStream(certificate)) {
            store.setCertificateEntry(
                    "registry", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }
}
