package dev.isolated.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Locale;

/** Writes the results as console text, Markdown and CSV. */
final class ReportWriter {
    static final String COMMAND = "mvn -pl bench -am -Pbench verify -DskipTests";

    private final Results results;
    private final List<Target> targets;
    private final Machine machine;

    ReportWriter(Results results, List<Target> targets, Machine machine) {
        this.results = results;
        this.targets = targets;
        this.machine = machine;
    }

    /** @return the whole report as text for the console */
    String console() {
        StringBuilder sb = new StringBuilder("\n== Isolated bench: " + machine.oneLine() + "\n");
        for (Section section : Section.values()) {
            List<Measurement> rows = results.in(section);
            if (rows.isEmpty()) {
                continue;
            }
            sb.append("\n-- ").append(section.title().replace("`", "")).append('\n');
            TextTable t = new TextTable("what", "median", "p10", "p90", "n", "unit", "Isolated ÷ this");
            rows.forEach(m -> t.add(
                    m.name(),
                    Format.number(m.stats().median()),
                    Format.number(m.stats().p10()),
                    Format.number(m.stats().p90()),
                    runs(m),
                    m.unit(),
                    RatioColumn.cell(results, m)));
            sb.append(t.toText());
        }
        sb.append("\n-- Targets of issues 6, 12 and 14\n").append(targetTable().toText());
        sb.append("\n-- Notes\n");
        results.notes().forEach(n -> sb.append("* ").append(n).append('\n'));
        return sb.toString();
    }

    /**
     * @param chartName the chart's file name next to the Markdown file
     * @return the full report as Markdown
     */
    String markdown(String chartName) {
        StringBuilder sb = new StringBuilder("# Isolated bench results\n\n");
        sb.append("Taken ")
                .append(LocalDate.now())
                .append(" on ")
                .append(machine.oneLine())
                .append(", ")
                .append(machine.cpuModel())
                .append(String.format(Locale.ROOT, ", %.1f GiB", machine.memoryGib()))
                .append(".  \nReproduce: `")
                .append(COMMAND)
                .append("` (results in `bench/target/bench/`).\n\n");
        sb.append("![Isolated against the alternatives](").append(chartName).append(")\n\n");
        sb.append("## Targets of issues 6, 12 and 14\n\n").append(targetTable().toMarkdown());
        for (Section section : Section.values()) {
            List<Measurement> rows = results.in(section);
            if (rows.isEmpty()) {
                continue;
            }
            sb.append("\n## ").append(section.title()).append("\n\n");
            TextTable t = new TextTable("what", "median", "p10", "p90", "runs", "Isolated ÷ this", "how");
            rows.forEach(m -> t.add(
                    label(m),
                    Format.number(m.stats().median()) + " " + m.unit(),
                    Format.number(m.stats().p10()),
                    Format.number(m.stats().p90()),
                    runs(m),
                    RatioColumn.cell(results, m),
                    m.note()));
            sb.append(t.toMarkdown());
        }
        sb.append("\n## Notes\n\n");
        results.notes().forEach(n -> sb.append("- ").append(n).append('\n'));
        sb.append("- Anchor figures: ").append(Anchors.SOURCE).append(".\n");
        return sb.toString();
    }

    /**
     * @param chartPath the chart's path relative to the README
     * @return a short section for the README: the headline table, the targets, machine and command
     */
    String readmeSection(String chartPath) {
        StringBuilder sb = new StringBuilder("## Speed\n\n");
        sb.append("Measured ")
                .append(LocalDate.now())
                .append(" on ")
                .append(machine.oneLine())
                .append(" (medians, warm JVM; every command spawned from the same JVM). Reproduce with `")
                .append(COMMAND)
                .append("`; full results in `bench/bench-results/LATEST.md`.\n\n");
        sb.append("![Isolated against the alternatives](").append(chartPath).append(")\n\n");
        TextTable t = new TextTable("one isolated `/bin/true` from a test", "median ms", "Isolated one-shot ÷ this");
        for (String name : List.of(
                SpawnBench.ONE_SHOT,
                SpawnBench.EXEC,
                SpawnBench.CREATE_CLOSE,
                Alternatives.FLOOR,
                Alternatives.UNSHARE,
                Alternatives.BWRAP,
                Anchors.TC_ONE_SHOT)) {
            results.find(name)
                    .ifPresent(m -> t.add(
                            label(m),
                            Format.number(m.stats().median()),
                            m.kind() == Kind.ISOLATED ? "" : Format.ratio(ratio(SpawnBench.ONE_SHOT, m))));
        }
        sb.append(t.toMarkdown()).append('\n');
        List<Measurement> hardened = results.in(Section.HARDENED);
        if (!hardened.isEmpty()) {
            sb.append("What the hardened defaults of issue 11 cost, measured side by side in the same run "
                    + "(\"(a) ÷ this\": today's defaults divided by the configuration of the row):\n\n");
            TextTable h = new TextTable("configuration", "median ms", "(a) ÷ this");
            hardened.forEach(m -> h.add(label(m), Format.number(m.stats().median()), RatioColumn.cell(results, m)));
            sb.append(h.toMarkdown()).append('\n');
        }
        List<Measurement> pulls = results.in(Section.PULL);
        if (!pulls.isEmpty()) {
            sb.append(
                    "Images by name (issue 12): Debian bookworm + redis-server, two layers, pushed to a docker-registry "
                            + "on 127.0.0.1, pulled into an empty store by Isolated and by `podman pull`, side by side in the same "
                            + "run; then Debian + postgresql-15, which shares the base layer, into a store that holds the first:\n\n");
            TextTable p = new TextTable("pull", "median", "Isolated ÷ this");
            pulls.forEach(m ->
                    p.add(label(m), Format.number(m.stats().median()) + " " + m.unit(), RatioColumn.cell(results, m)));
            sb.append(p.toMarkdown()).append('\n');
        }
        sb.append("Targets (issues 6, 12 and 14):\n\n").append(targetTable().toMarkdown());
        return sb.toString();
    }

    /**
     * Writes results.csv (one row per measurement) and ratios.csv (one row per stated ratio).
     *
     * @param dir the output directory
     * @throws IOException when a file cannot be written
     */
    void writeCsv(Path dir) throws IOException {
        StringBuilder sb = new StringBuilder("section,what,kind,unit,median,p10,p90,runs,how\n");
        for (Measurement m : results.all()) {
            Stats s = m.stats();
            sb.append(String.join(
                            ",",
                            m.section().name(),
                            csv(m.name()),
                            m.kind().name(),
                            m.unit(),
                            Double.toString(s.median()),
                            Double.toString(s.p10()),
                            Double.toString(s.p90()),
                            Integer.toString(s.runs()),
                            csv(m.note())))
                    .append('\n');
        }
        Files.writeString(dir.resolve("results.csv"), sb, StandardCharsets.UTF_8);
        StringBuilder ratios = new StringBuilder("isolated,alternative,ratio\n");
        for (String[] r : RatioColumn.all(results)) {
            ratios.append(csv(r[0]))
                    .append(',')
                    .append(csv(r[1]))
                    .append(',')
                    .append(r[2])
                    .append('\n');
        }
        Files.writeString(dir.resolve("ratios.csv"), ratios, StandardCharsets.UTF_8);
    }

    private double ratio(String isolated, Measurement alternative) {
        return results.find(isolated)
                .map(m -> m.stats().median() / alternative.stats().median())
                .orElse(Double.NaN);
    }

    private TextTable targetTable() {
        TextTable t = new TextTable("target", "verdict", "this run", "margin");
        targets.forEach(x -> t.add(x.goal(), x.verdict(), x.actual(), x.gap()));
        return t;
    }

    private static String label(Measurement m) {
        return m.kind() == Kind.ISOLATED ? "**" + m.name() + "**" : m.name();
    }

    private static String runs(Measurement m) {
        return m.stats().measured() ? Integer.toString(m.stats().runs()) : "anchor";
    }

    private static String csv(String value) {
        return "\"" + value.replace("\"", "\"\"") + "\"";
    }
}
