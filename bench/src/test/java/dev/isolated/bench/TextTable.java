package dev.isolated.bench;

import java.util.ArrayList;
import java.util.List;

/** A table of strings, rendered as aligned text for the console or as a Markdown table. */
final class TextTable {
    private final List<String> headers;
    private final List<List<String>> rows = new ArrayList<>();

    TextTable(String... headers) {
        this.headers = List.of(headers);
    }

    /** @param cells one row, as many cells as headers */
    void add(String... cells) {
        if (cells.length != headers.size()) {
            throw new IllegalArgumentException(cells.length + " cells for " + headers.size() + " columns");
        }
        rows.add(List.of(cells));
    }

    /** @return the rows as aligned text, columns after the first right-aligned */
    String toText() {
        int[] widths = new int[headers.size()];
        for (List<String> row : allRows()) {
            for (int i = 0; i < row.size(); i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (List<String> row : allRows()) {
            for (int i = 0; i < row.size(); i++) {
                String cell = row.get(i);
                String pad = " ".repeat(widths[i] - cell.length());
                sb.append(i == 0 ? cell + pad : "  " + pad + cell);
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** @return the rows as a Markdown table */
    String toMarkdown() {
        StringBuilder sb = new StringBuilder();
        line(sb, headers);
        List<String> rule = new ArrayList<>();
        for (int i = 0; i < headers.size(); i++) {
            rule.add(i == 0 ? "---" : "---:");
        }
        line(sb, rule);
        rows.forEach(row -> line(sb, row));
        return sb.toString();
    }

    private List<List<String>> allRows() {
        List<List<String>> all = new ArrayList<>();
        all.add(headers);
        all.addAll(rows);
        return all;
    }

    private static void line(StringBuilder sb, List<String> cells) {
        sb.append('|');
        for (String cell : cells) {
            sb.append(' ').append(cell.replace("|", "\\|")).append(" |");
        }
        sb.append('\n');
    }
}
