package dev.isolated.internal.registry;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSession;

/**
 * Stores blobs into a {@link BlobStore} from several threads at once, in a JVM of its own:
 * {@code BlobStoreMain <cache dir> <threads per blob> <blob file>...}, the blobs' contents being the files' and
 * each download slowed so that the blobs' locks are held while other threads and JVMs wait for them. Prints
 * {@code downloaded <digest>} for each download it made; exits 1 on any failure.
 */
public final class BlobStoreMain {

    private BlobStoreMain() {}

    public static void main(String[] args) throws Exception {
        BlobStore store = new BlobStore(Path.of(args[0]));
        int threadsPerBlob = Integer.parseInt(args[1]);
        List<Thread> threads = new ArrayList<>();
        Map<Thread, Throwable> failures = new ConcurrentHashMap<>();
        AtomicInteger downloads = new AtomicInteger();
        for (int i = 2; i < args.length; i++) {
            byte[] bytes = Files.readAllBytes(Path.of(args[i]));
            String digest = "sha256:" + Digests.sha256Hex(bytes);
            for (int t = 0; t < threadsPerBlob; t++) {
                Thread thread = new Thread(() -> store.fetch(
                        digest,
                        bytes.length,
                        "blob " + digest,
                        offset -> {
                            downloads.incrementAndGet();
                            System.out.println("downloaded " + digest);
                            return new Response(new Slow(
                                    new ByteArrayInputStream(bytes, (int) offset, bytes.length - (int) offset)));
                        },
                        n -> {}));
                thread.setUncaughtExceptionHandler(failures::put);
                threads.add(thread);
                thread.start();
            }
        }
        for (Thread thread : threads) {
            thread.join();
        }
        failures.values().forEach(Throwable::printStackTrace);
        System.out.flush();
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    /** Sends 1 KiB every millisecond. */
    private static final class Slow extends FilterInputStream {
        Slow(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            return super.read(buffer, offset, Math.min(length, 1024));
        }
    }

    private record Response(InputStream body) implements HttpResponse<InputStream> {
        @Override
        public int statusCode() {
            return 200;
        }

        @Override
        public HttpRequest request() {
            return HttpRequest.newBuilder(URI.create("http://127.0.0.1/")).build();
        }

        @Override
        public Optional<HttpResponse<InputStream>> previousResponse() {
            return Optional.empty();
        }

        @Override
        public HttpHeaders headers() {
            return HttpHeaders.of(Map.of(), (name, value) -> true);
        }

        @Override
        public Optional<SSLSession> sslSession() {
            return Optional.empty();
        }

        @Override
        public URI uri() {
            return URI.create("http://127.0.0.1/");
        }

        @Override
        public HttpClient.Version version() {
            return HttpClient.Version.HTTP_1_1;
        }
    }
}
