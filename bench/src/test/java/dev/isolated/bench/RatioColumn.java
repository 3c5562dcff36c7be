package dev.isolated.bench;

import java.util.ArrayList;
import java.util.List;

/** The "Isolated ÷ this" cell of an alternative's row: every stated ratio with that alternative. */
final class RatioColumn {
    private RatioColumn() {}

    /**
     * @param results the results
     * @param row a row
     * @return e.g. {@code one-shot 0.83×, exec 0.31×}; empty for Isolated rows
     */
    static String cell(Results results, Measurement row) {
        List<String> parts = new ArrayList<>();
        for (Comparison c : Comparison.all()) {
            if (c.alternative().equals(row.name())) {
                results.find(c.isolated())
                        .ifPresent(iso -> parts.add(c.label() + " "
                                + Format.ratio(
                                        iso.stats().median() / row.stats().median())));
            }
        }
        return String.join(", ", parts);
    }

    /**
     * @param results the results
     * @return every stated ratio as (isolated, alternative, ratio) triples
     */
    static List<String[]> all(Results results) {
        List<String[]> rows = new ArrayList<>();
        for (Comparison c : Comparison.all()) {
            results.find(c.isolated())
                    .ifPresent(iso -> results.find(c.alternative())
                            .ifPresent(alt -> rows.add(new String[] {
                                iso.name(),
                                alt.name(),
                                Double.toString(
                                        iso.stats().median() / alt.stats().median())
                            })));
        }
        return rows;
    }
}
