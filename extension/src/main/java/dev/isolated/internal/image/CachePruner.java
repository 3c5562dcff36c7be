package dev.isolated.internal.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Removes least recently used {@link ImageCache} entries beyond a size and an age. */
final class CachePruner {

    /**
     * An entry that may be removed.
     *
     * @param entry the entry's directory
     * @param lastUsed when it was last handed out
     * @param bytes the file content it holds
     */
    record Candidate(Path entry, Instant lastUsed, long bytes) {
    }

    private final ImageCache cache;

    CachePruner(ImageCache cache) {
        this.cache = cache;
    }

    List<Path> prune(long maxBytes, Duration maxAge) {
        List<Candidate> candidates = cache.completeEntries();
        long total = candidates.stream().mapToLong(Candidate::bytes).sum();
        Instant oldestKept = Instant.now().minus(maxAge);
        List<Path> removed = new ArrayList<>();
        for (Candidate candidate : candidates) {
            boolean tooOld = candidate.lastUsed().isBefore(oldestKept);
            if ((tooOld || total > maxBytes) && !ImageCache.isHandedOut(candidate.entry()) && remove(candidate)) {
                removed.add(candidate.entry());
                total -= candidate.bytes();
            }
        }
        return removed;
    }

    private boolean remove(Candidate candidate) {
        try {
            return cache.removeIfUnlocked(candidate.entry());
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot remove the cached image " + candidate.entry() + ": " + e, e);
        }
    }
}
