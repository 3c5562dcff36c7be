package dev.isolated.internal.registry;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * A registry played by the test (com.sun.net.httpserver on 127.0.0.1) serving the one image of an OCI
 * layout under any name, for misbehaviours the real registry does not show: a wrong
 * {@code Docker-Content-Digest}, a huge manifest, a slow, stalled or truncated blob, a blob longer than its descriptor says, a manifest answered with an error status.
 */
public final class FakeRegistry implements AutoCloseable {

    private final HttpServer server;
    private final Path layout;
    private final String manifestDigest;
    /** What {@code Docker-Content-Digest} says for a manifest: the manifest's digest in, the header out. */
    public volatile UnaryOperator<String> digestHeader = UnaryOperator.identity();
    /** The manifest's bytes as served. */
    public volatile UnaryOperator<byte[]> manifestBody = UnaryOperator.identity();
    /** How long to pause in the middle of each blob (cut short by {@link #endPauses()} and {@link #close()}). */
    public volatile long blobPauseMillis;
    /** A blob's bytes as served. */
    public volatile UnaryOperator<byte[]> blobBody = UnaryOperator.identity();
    /** Whether blobs are sent chunked, without a {@code Content-Length}. */
    public volatile boolean chunkedBlobs;
    /** How many of the next manifest requests are answered with {@link #failureStatus} (and {@code Retry-After: 0}). */
    public final AtomicInteger manifestFailures = new AtomicInteger();
    /** The status those failures answer with. */
    public volatile int failureStatus = 500;
    /** How many manifest requests arrived. */
    public final AtomicInteger manifestRequests = new AtomicInteger();
    /** Whether each blob's connection is dropped halfway through its body, the rest never sent. */
    public volatile boolean truncateBlobs;
    /** How many blob requests arrived. */
    public final AtomicInteger blobRequests = new AtomicInteger();

    private final CountDownLatch pausesEnded = new CountDownLatch(1);

    public FakeRegistry(Path layout) throws IOException {
        this.layout = layout;
        this.manifestDigest =
                Files.readString(layout.resolve("index.json")).replaceAll(".*\"(sha256:[0-9a-f]{64})\".*", "$1");
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            try (exchange) {
                String path = exchange.getRequestURI().getPath();
                if (path.contains("/manifests/")) {
                    manifestRequests.incrementAndGet();
                    if (manifestFailures.getAndUpdate(n -> Math.max(n - 1, 0)) > 0) {
                        byte[] error = ("{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"unknown error\"}]}")
                                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
                        exchange.getResponseHeaders().add("Retry-After", "0");
                        exchange.sendResponseHeaders(failureStatus, error.length);
                        exchange.getResponseBody().write(error);
                        return;
                    }
                    byte[] manifest = manifestBody.apply(blob(manifestDigest));
                    exchange.getResponseHeaders().add("Content-Type", "application/vnd.oci.image.manifest.v1+json");
                    exchange.getResponseHeaders().add("Docker-Content-Digest", digestHeader.apply(manifestDigest));
                    exchange.sendResponseHeaders(200, manifest.length);
                    exchange.getResponseBody().write(manifest);
                } else if (path.contains("/blobs/sha256:")) {
                    blobRequests.incrementAndGet();
                    byte[] blob = blobBody.apply(blob(path.substring(path.lastIndexOf('/') + 1)));
                    exchange.sendResponseHeaders(200, chunkedBlobs ? 0 : blob.length);
                    OutputStream out = exchange.getResponseBody();
                    out.write(blob, 0, blob.length / 2);
                    out.flush();
                    if (truncateBlobs) {
                        return; // closing the exchange before Content-Length bytes drops the connection
                    }
                    pause();
                    out.write(blob, blob.length / 2, blob.length - blob.length / 2);
                } else {
                    exchange.sendResponseHeaders(200, -1);
                }
            }
        });
        server.start();
    }

    private byte[] blob(String digest) throws IOException {
        return Files.readAllBytes(layout.resolve("blobs/sha256/" + digest.substring("sha256:".length())));
    }

    private void pause() {
        try {
            pausesEnded.await(blobPauseMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code 127.0.0.1:<port>}. */
    public String host() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    /** The image's manifest digest. */
    public String manifestDigest() {
        return manifestDigest;
    }

    /** Ends the pauses under way and any later one. */
    public void endPauses() {
        pausesEnded.countDown();
    }

    @Override
    public void close() {
        endPauses();
        server.stop(0);
    }
}
