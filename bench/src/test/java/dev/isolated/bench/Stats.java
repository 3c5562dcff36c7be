package dev.isolated.bench;

import java.util.Arrays;

/**
 * Order statistics of one series of timings, in milliseconds.
 *
 * @param runs the number of samples; 0 for a figure that was not measured here
 * @param median the median
 * @param p10 the 10th percentile
 * @param p90 the 90th percentile
 */
record Stats(int runs, double median, double p10, double p90) {

    /**
     * @param nanos the samples in nanoseconds
     * @return their statistics in milliseconds
     */
    static Stats ofNanos(long[] nanos) {
        double[] millis = Arrays.stream(nanos).mapToDouble(n -> n / 1e6).toArray();
        return of(millis);
    }

    /**
     * @param millis the samples (milliseconds, or another unit)
     * @return their statistics, in the same unit
     */
    static Stats of(double[] millis) {
        if (millis.length == 0) {
            throw new IllegalArgumentException("no samples");
        }
        double[] sorted = millis.clone();
        Arrays.sort(sorted);
        return new Stats(sorted.length, percentile(sorted, 50), percentile(sorted, 10), percentile(sorted, 90));
    }

    /**
     * @param millis a figure quoted from elsewhere
     * @return a series of none, with only that figure as its median
     */
    static Stats quoted(double millis) {
        return new Stats(0, millis, Double.NaN, Double.NaN);
    }

    /** @return whether these are samples taken in this run */
    boolean measured() {
        return runs > 0;
    }

    // Nearest-rank on the sorted samples, interpolating between the two neighbours.
    private static double percentile(double[] sorted, int percent) {
        double rank = (sorted.length - 1) * percent / 100.0;
        int below = (int) Math.floor(rank);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (sorted[above] - sorted[below]) * (rank - below);
    }
}
