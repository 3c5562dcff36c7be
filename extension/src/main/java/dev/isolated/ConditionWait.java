package dev.isolated;

import java.util.Objects;

/** Ready when a check of the test's own returns true. */
final class ConditionWait extends Wait {
    private final String description;
    private final Check check;

    ConditionWait(String description, Check check) {
        this.description = Objects.requireNonNull(description);
        this.check = Objects.requireNonNull(check);
    }

    @Override
    Probe probe(IsolatedEnvironment env, IsolatedProcess service) {
        return new Probe() {
            private String last = "not checked yet";

            @Override
            public boolean ready(long deadline) {
                try {
                    if (check.ready(env)) {
                        return true;
                    }
                    last = "the last check returned false";
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IsolatedException("Interrupted while checking " + description, e);
                } catch (Exception | AssertionError e) { // an AssertJ or JUnit assertion that fails: not yet
                    last = "the last check threw " + e;
                }
                return false;
            }

            @Override
            public String state() {
                return ConditionWait.this + " (" + last + ")";
            }
        };
    }

    @Override
    public String toString() {
        return description;
    }
}
