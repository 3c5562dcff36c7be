package dev.isolated.bench;

/**
 * One line of the results.
 *
 * @param section the section it belongs to
 * @param name what was measured, for people
 * @param kind whose figure it is
 * @param stats the timings (or sizes)
 * @param unit {@code ms} or {@code KiB}
 * @param note how it was measured, or why it stands here
 */
record Measurement(Section section, String name, Kind kind, Stats stats, String unit, String note) {

    static Measurement millis(Section section, String name, Kind kind, Stats stats, String note) {
        return new Measurement(section, name, kind, stats, "ms", note);
    }
}
