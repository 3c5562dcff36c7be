package dev.isolated.bench;

/** Whose figure a measurement is. */
enum Kind {
    /** Isolated doing the work. */
    ISOLATED,
    /** Another way a user could do the same work, measured in this run. */
    ALTERNATIVE,
    /** A figure quoted from the performance anchors, not measured here. */
    ANCHOR,
    /** A figure that explains another (a part of it, or the same work another way). */
    DETAIL
}
