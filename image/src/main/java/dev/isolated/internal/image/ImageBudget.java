package dev.isolated.internal.image;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What one image being unpacked has used of its {@link UnpackLimits}: the entries and file bytes of all its layers,
 * however many of them are unpacked at once, so the limits hold for the image as a whole, not per layer. Once
 * {@link #stop() stopped} (a sibling layer failed), every further count throws {@link UnpackStoppedException}, so the
 * layers still being unpacked end at their next entry or chunk of file content.
 */
final class ImageBudget {

    private final UnpackLimits limits;
    private final AtomicLong entries = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private volatile boolean stopped;

    /**
     * @param limits the image's limits
     */
    ImageBudget(UnpackLimits limits) {
        this.limits = limits;
    }

    /** The image's limits. */
    UnpackLimits limits() {
        return limits;
    }

    /** Counts what a layer found in the store holds. */
    void countStored(long storedEntries, long storedBytes) {
        entries.addAndGet(storedEntries);
        bytes.addAndGet(storedBytes);
    }

    /**
     * Counts one more entry.
     *
     * @return the image's entries so far
     * @throws UnpackStoppedException if the unpack was stopped
     */
    long addEntry() {
        checkNotStopped();
        return entries.incrementAndGet();
    }

    /**
     * Counts {@code count} more bytes of file content.
     *
     * @return the image's bytes so far
     * @throws UnpackStoppedException if the unpack was stopped
     */
    long addBytes(long count) {
        checkNotStopped();
        return bytes.addAndGet(count);
    }

    /** The image's bytes of file content so far. */
    long bytes() {
        return bytes.get();
    }

    /** Makes every further count throw {@link UnpackStoppedException}. */
    void stop() {
        stopped = true;
    }

    private void checkNotStopped() {
        if (stopped) {
            throw new UnpackStoppedException();
        }
    }
}
