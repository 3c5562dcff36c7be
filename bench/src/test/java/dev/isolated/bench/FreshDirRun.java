package dev.isolated.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/** A run that gets a fresh empty directory, made before and removed after the timed part. */
final class FreshDirRun implements TimedRun {
    private final Path parent;
    private final Work work;

    /** The timed part. */
    @FunctionalInterface
    interface Work {

        /**
         * @param fresh an empty directory of its own
         * @throws Exception when the work failed
         */
        void run(Path fresh) throws Exception;
    }

    FreshDirRun(Path parent, Work work) {
        this.parent = parent;
        this.work = work;
    }

    @Override
    public long nanos() throws Exception {
        Path fresh = Files.createTempDirectory(parent, "run-");
        try {
            long start = System.nanoTime();
            work.run(fresh);
            return System.nanoTime() - start;
        } finally {
            Trees.delete(fresh);
        }
    }
}
