package dev.isolated.bench;

import java.util.Locale;

/** Number formatting shared by the console, Markdown and CSV output. */
final class Format {
    private Format() {}

    /**
     * @param value a number
     * @return it with about three significant digits
     */
    static String number(double value) {
        if (Double.isNaN(value)) {
            return "";
        }
        double abs = Math.abs(value);
        if (value == Math.rint(value) && abs < 1e15) {
            return String.format(Locale.ROOT, "%.0f", value); // counts: "0 failures", not "0.000"
        }
        String pattern = abs >= 100 ? "%.0f" : abs >= 10 ? "%.1f" : abs >= 1 ? "%.2f" : "%.3f";
        return String.format(Locale.ROOT, pattern, value);
    }

    /**
     * @param ratio a ratio
     * @return it as {@code 0.83×}; a tiny ratio as {@code 1/409×} so that it does not print as 0.00×
     */
    static String ratio(double ratio) {
        if (ratio > 0 && ratio < 0.05) {
            return String.format(Locale.ROOT, "1/%.0f×", 1 / ratio);
        }
        return String.format(Locale.ROOT, ratio >= 10 ? "%.0f×" : "%.2f×", ratio);
    }

    /**
     * @param m a measurement
     * @return its median and spread on one line
     */
    static String stats(Measurement m) {
        Stats s = m.stats();
        if (!s.measured()) {
            return number(s.median()) + " " + m.unit() + " (not measured here)";
        }
        return number(s.median()) + " " + m.unit() + "  [p10 " + number(s.p10()) + ", p90 " + number(s.p90()) + ", n="
                + s.runs() + "]";
    }
}
