package dev.isolated;

import java.util.ArrayList;
import java.util.List;

/** Ready when each of several waits is, checked in order. */
final class AllOfWait extends Wait {
    private final List<Wait> waits;

    AllOfWait(List<Wait> waits) {
        this.waits = List.copyOf(waits);
    }

    @Override
    Probe probe(IsolatedEnvironment env, IsolatedProcess service) {
        List<Probe> probes = new ArrayList<>();
        for (Wait wait : waits) {
            probes.add(wait.probe(env, service));
        }
        return new Probe() {
            private int met; // probes before this index are met

            @Override
            public boolean ready(long deadline) {
                while (met < probes.size() && probes.get(met).ready(deadline)) {
                    met++;
                }
                return met == probes.size();
            }

            @Override
            public java.util.concurrent.CompletableFuture<?> progress() {
                return met < probes.size() ? probes.get(met).progress() : null;
            }

            @Override
            public void close() {
                probes.forEach(Probe::close);
            }

            @Override
            public String state() {
                StringBuilder sb = new StringBuilder("all of: ");
                for (int i = 0; i < probes.size(); i++) {
                    sb.append(i == 0 ? "" : "; ").append(i + 1).append(". ");
                    if (i < met) {
                        sb.append(waits.get(i)).append(": met");
                    } else if (i == met) {
                        sb.append(probes.get(i).state()).append(": not yet");
                    } else {
                        sb.append(waits.get(i)).append(": not checked yet");
                    }
                }
                return sb.toString();
            }
        };
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("all of: ");
        for (int i = 0; i < waits.size(); i++) {
            sb.append(i == 0 ? "" : "; ").append(i + 1).append(". ").append(waits.get(i));
        }
        return sb.toString();
    }
}
