package dev.isolated.internal.image;

import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.logging.Logger;

/**
 * Reports a long unpack through {@code java.util.logging} at {@code INFO}, about once a second once it has
 * taken a second: {@code Unpacking <image>: <n> of <total> MiB of the archive read} while an archive is
 * read whole, then {@code Unpacking <image>: <n> of <total> MiB, <k> of <m> layers done} while its layers
 * are unpacked (a layer found in the store counts as done at once, with its blob's bytes). When layers were
 * pruned from the store by another JVM before the image was merged, the count starts again for the retry, so it
 * never exceeds the image's layers.
 */
final class UnpackProgress implements TarExtraction.ByteCounter {

    private static final Logger LOG = Logger.getLogger(ImageCache.class.getName());
    private static final long REPORT_EVERY_NANOS = 1_000_000_000L;

    private final String image;
    private final LongSupplier clock;
    private final Consumer<String> log;
    private final long started;
    private long lastReport;
    private long bytesDone;
    private long bytesTotal;
    private int layersDone;
    private int layersTotal = -1;

    UnpackProgress(String image) {
        this(image, System::nanoTime, LOG::info);
    }

    /**
     * @param clock the time in nanoseconds
     * @param log receives each report
     */
    UnpackProgress(String image, LongSupplier clock, Consumer<String> log) {
        this.image = image;
        this.clock = clock;
        this.log = log;
        this.started = clock.getAsLong();
        this.lastReport = started;
    }

    /** Starts reading an archive of {@code total} bytes whole. */
    synchronized void archive(long total) {
        bytesDone = 0;
        bytesTotal = total;
        layersTotal = -1;
    }

    /** Starts (or, for a retry, starts again) unpacking {@code layers} layers of {@code total} bytes of blobs in all. */
    synchronized void layers(int layers, long total) {
        bytesDone = 0;
        bytesTotal = total;
        layersDone = 0;
        layersTotal = layers;
    }

    /** One more layer is done. */
    synchronized void layerDone() {
        layersDone++;
        report();
    }

    @Override
    public synchronized void add(long bytes) {
        bytesDone += bytes;
        report();
    }

    private void report() {
        long now = clock.getAsLong();
        if (now - started < REPORT_EVERY_NANOS || now - lastReport < REPORT_EVERY_NANOS) {
            return;
        }
        lastReport = now;
        String message = layersTotal < 0
                ? "Unpacking " + image + ": " + mib(bytesDone) + " of " + mib(bytesTotal) + " MiB of the archive read"
                : "Unpacking " + image + ": " + mib(bytesDone) + " of " + mib(bytesTotal) + " MiB, " + layersDone
                        + " of " + layersTotal + " layers done";
        log.accept(message);
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / (1024.0 * 1024.0));
    }
}
