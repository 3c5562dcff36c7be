package dev.isolated;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;

/**
 * Results made by hand, for tests of code that consumes them (the assertions): {@link ExecResult}'s constructors are
 * package-private, so that outside Isolated only a command that ran makes one.
 */
public final class ExecResults {
    private ExecResults() {}

    /**
     * @param command the command as run
     * @param exitCode its exit code
     * @param stdout its standard output
     * @param stderr its standard error
     * @return a result of a command that exited by itself after 5 ms, its output complete
     */
    public static ExecResult exited(List<String> command, int exitCode, String stdout, String stderr) {
        return new ExecResult(
                command,
                exitCode,
                OptionalInt.empty(),
                stdout.getBytes(StandardCharsets.UTF_8),
                stderr.getBytes(StandardCharsets.UTF_8),
                false,
                false,
                Duration.ofMillis(5));
    }
}
