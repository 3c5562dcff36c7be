package dev.isolated.bench;

import java.nio.file.Path;

/**
 * What every part of the bench shares.
 *
 * @param rootfs the unpacked busybox image, the same tree for Isolated and every alternative
 * @param busyboxTar the image's tar, copied out of the class path
 * @param workDir scratch space (under target/bench), removed at the end
 * @param runs counted runs for millisecond-scale cases
 * @param timer the C fork/exec loop, or null when it could not be built
 * @param helperBinary the isolated-helper executable
 * @param results where results go
 */
record BenchContext(
        Path rootfs, Path busyboxTar, Path workDir, int runs, NativeTimer timer, Path helperBinary, Results results) {

    /** @return warm-up runs before the counted ones */
    int warmup() {
        return Math.max(20, runs / 5);
    }
}
