package dev.isolated;

import dev.isolated.image.ImageConfig;
import java.time.Duration;
import java.util.List;

/** Ready when the image's {@code HEALTHCHECK}, run inside the environment, passes. */
final class HealthcheckWait extends Wait {
    /** Docker waits {@code Interval} (30 s by default) between checks; a test should not. */
    private static final Duration LONGEST_PAUSE = Duration.ofSeconds(1);
    /** Docker keeps 4096 bytes of a check's output. */
    private static final int OUTPUT_BYTES = 4096;

    private static final int OUTPUT_CHARS = 300;

    @Override
    Probe probe(IsolatedEnvironment env, IsolatedProcess service) {
        ImageConfig.Healthcheck check = env.imageConfig().healthcheck();
        if (!check.isDeclared()) {
            throw new IllegalStateException("Wait.forHealthcheck(): the image of this environment "
                    + (check.test().isEmpty()
                            ? "declares no HEALTHCHECK"
                            : "switches its HEALTHCHECK off (Test " + check.test() + ")")
                    + "; wait for a log line, a port or an HTTP endpoint instead");
        }
        List<String> command = check.command();
        Duration pause = check.interval().compareTo(LONGEST_PAUSE) < 0 ? check.interval() : LONGEST_PAUSE;
        long start = System.nanoTime();
        return new Probe() {
            private long lastCheck;
            private int checks;
            private int failuresInARow;
            private ExecResult lastFailure;

            @Override
            public boolean ready(long deadline) {
                long now = System.nanoTime();
                if (checks > 0 && now - lastCheck < pause.toNanos()) {
                    return false;
                }
                lastCheck = now;
                long left = Math.max(deadline - now, Duration.ofMillis(100).toNanos());
                Duration timeout =
                        Duration.ofNanos(Math.min(left, check.timeout().toNanos()));
                ExecResult result = env.exec(Command.of(command.toArray(String[]::new))
                        .withTimeout(timeout)
                        .withMaxOutputBytes(OUTPUT_BYTES));
                checks++;
                if (result.exitCode() == 0 && !result.timedOut()) {
                    return true;
                }
                lastFailure = result;
                boolean counts = now - start >= check.startPeriod().toNanos();
                failuresInARow = counts ? failuresInARow + 1 : 0;
                long earliestUnhealthy = check.startPeriod()
                        .plus(check.interval().multipliedBy(check.retries()))
                        .toNanos();
                if (failuresInARow >= check.retries() && System.nanoTime() - start >= earliestUnhealthy) {
                    throw new Unready("its HEALTHCHECK " + check.test() + " failed " + failuresInARow
                            + " times in a row (" + settings() + "); the last check " + outcome(lastFailure));
                }
                return false;
            }

            @Override
            public String state() {
                return HealthcheckWait.this + " " + check.test() + " (" + settings() + ") to pass ("
                        + (checks == 0
                                ? "no check finished yet"
                                : checks + (checks == 1 ? " check" : " checks") + " failed; the last "
                                        + outcome(lastFailure))
                        + ")";
            }

            private String settings() {
                return "Retries " + check.retries() + ", StartPeriod "
                        + check.startPeriod().toMillis() + " ms, Interval "
                        + check.interval().toMillis() + " ms, Timeout "
                        + check.timeout().toMillis() + " ms";
            }
        };
    }

    private static String outcome(ExecResult result) {
        String output = (result.stdout() + result.stderr()).strip();
        if (output.length() > OUTPUT_CHARS) {
            output = output.substring(0, OUTPUT_CHARS) + "...";
        }
        return (result.timedOut() ? "timed out" : "exited with " + result.exitCode()) + ": "
                + (output.isEmpty() ? "(no output)" : "\"" + output + "\"");
    }

    @Override
    public String toString() {
        return "the image's HEALTHCHECK";
    }
}
