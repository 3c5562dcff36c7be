package dev.isolated;

import dev.isolated.internal.env.LineWatch;
import dev.isolated.internal.env.WatchableOutput;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * Ready when enough lines of a service's output match a pattern. For a command Isolated started, the lines are
 * matched once each as they arrive and the wait returns the moment the last one needed arrives; for another
 * {@link IsolatedProcess} its kept output is searched at each check.
 */
final class LogLineWait extends Wait {
    private final Pattern pattern;
    private final int times;

    LogLineWait(Pattern pattern, int times) {
        if (times < 1) {
            throw new IllegalArgumentException(
                    "forLogLine(\"" + pattern + "\", " + times + "): times must be at least 1");
        }
        this.pattern = pattern;
        this.times = times;
    }

    @Override
    Probe probe(IsolatedEnvironment env, IsolatedProcess service) {
        if (service instanceof WatchableOutput output) {
            LineWatch watch = output.watchLines(pattern, times);
            return new Probe() {
                private int seen;

                @Override
                public boolean ready(long deadline) {
                    seen = watch.seen();
                    return seen >= times;
                }

                @Override
                public CompletableFuture<?> progress() {
                    return watch.met();
                }

                @Override
                public void close() {
                    watch.close();
                }

                @Override
                public String state() {
                    return LogLineWait.this + " (seen " + seen + ")";
                }
            };
        }
        return new Probe() {
            private int seen;

            @Override
            public boolean ready(long deadline) {
                seen = count(service.stdout()) + count(service.stderr());
                return seen >= times;
            }

            @Override
            public String state() {
                return LogLineWait.this + " (seen " + seen + ")";
            }
        };
    }

    private int count(String output) {
        int n = 0;
        for (String line : output.split("\n")) {
            if (pattern.matcher(line).find()) {
                n++;
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "a line of its output matching /" + pattern + "/" + (times == 1 ? "" : " " + times + " times");
    }
}
