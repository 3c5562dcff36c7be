package dev.isolated.bench;

import java.util.List;
import java.util.Locale;

/**
 * A logarithmic millisecond axis over whole decades, mapped onto pixels.
 *
 * @param minDecade the exponent of the left end
 * @param maxDecade the exponent of the right end
 * @param left the left end's pixel
 * @param right the right end's pixel
 */
record LogAxis(int minDecade, int maxDecade, int left, int right) {

    /**
     * @param groups what will be drawn
     * @param left the left end's pixel
     * @param right the right end's pixel
     * @return an axis whose decades cover every median and spread
     */
    static LogAxis covering(List<ChartGroup> groups, int left, int right) {
        double min = Double.MAX_VALUE;
        double max = Double.MIN_VALUE;
        for (ChartGroup g : groups) {
            for (ChartRow r : g.rows()) {
                Stats s = r.measurement().stats();
                for (double v : new double[] {s.median(), s.p10(), s.p90()}) {
                    if (!Double.isNaN(v) && v > 0) {
                        min = Math.min(min, v);
                        max = Math.max(max, v);
                    }
                }
            }
        }
        return new LogAxis((int) Math.floor(Math.log10(min)), (int) Math.ceil(Math.log10(max) + 0.25), left, right);
    }

    /**
     * @param millis a value
     * @return its pixel
     */
    int x(double millis) {
        double f = (Math.log10(millis) - minDecade) / (maxDecade - minDecade);
        return left + (int) Math.round(f * (right - left));
    }

    /**
     * @param millis a duration
     * @return it for people: {@code 0.05 ms}, {@code 4.1 ms}, {@code 1.3 s}
     */
    static String milliseconds(double millis) {
        if (millis >= 1000) {
            return String.format(Locale.ROOT, millis >= 10000 ? "%.0f s" : "%.2g s", millis / 1000);
        }
        return Format.number(millis).replaceAll("(\\.\\d*?)0+$", "$1").replaceAll("\\.$", "") + " ms";
    }
}
