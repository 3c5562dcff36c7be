package dev.isolated.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Everything one bench run found: measurements, ratios worth stating, and what was skipped and why. */
final class Results {
    private final List<Measurement> measurements = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    /**
     * @param m a measurement
     * @return it
     */
    Measurement add(Measurement m) {
        measurements.add(m);
        System.out.printf("  %-62s %s%n", m.name(), Format.stats(m));
        return m;
    }

    /** @param note something the reader must know (a skipped comparison, an explanation) */
    void note(String note) {
        notes.add(note);
        System.out.println("  note: " + note);
    }

    /** @return every measurement, in the order taken */
    List<Measurement> all() {
        return List.copyOf(measurements);
    }

    /**
     * @param section a section
     * @return its measurements, in the order taken
     */
    List<Measurement> in(Section section) {
        return measurements.stream().filter(m -> m.section() == section).toList();
    }

    /**
     * @param name a measurement's name
     * @return it, when it was taken
     */
    Optional<Measurement> find(String name) {
        return measurements.stream().filter(m -> m.name().equals(name)).findFirst();
    }

    /** @return the notes, in order */
    List<String> notes() {
        return List.copyOf(notes);
    }
}
